/// What a peer did, as reputation scores it.
///
/// Weights are in points; a peer starts at 0 (neutral), is disconnected at
/// [`ReputationConfig::disconnect_below`](super::ReputationConfig::disconnect_below) (−500 by default)
/// and banned at [`ReputationConfig::ban_below`](super::ReputationConfig::ban_below) (−1 000). They are
/// chosen so that one provable fault bans, a handful of invalid envelopes disconnects, and routine
/// liveness trouble never does either.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum PeerBehavior {
    /// A new, valid envelope delivered through this peer: +1, up to a small positive cap, so good
    /// history cannot buy forgiveness for a fault.
    ValidMessage,
    /// Two conflicting signed messages with verified evidence (charged to the origin): −1 000 and a ban
    /// whatever the score (see [`is_provable`](Self::is_provable)).
    Equivocation,
    /// A validly signed payload naming another validator as its author (charged to the origin): −1 000.
    Impersonation,
    /// An envelope whose signature does not verify (charged to the forwarder): −100.
    InvalidSignature,
    /// A broken wire protocol: undecodable frame, oversized part (charged to the forwarder): −100.
    ProtocolViolation,
    /// A signed evidence report whose evidence proves nothing (charged to the reporter, who signed it):
    /// −100. Not a ban by itself: the reporter may have judged against a set we no longer share.
    InvalidEvidence,
    /// An envelope whose payload is not a consensus message (charged to the forwarder): −50.
    UndecodablePayload,
    /// An envelope from an origin outside the set at its height (charged to the forwarder): −20.
    UnknownOrigin,
    /// An envelope outside its origin's sequence window that nobody asked for: −20.
    Replay,
    /// Inbound traffic over the peer's rate limit, per dropped frame: −2.
    OverQuota,
    /// Heartbeats missed (liveness): −5, in the clamped liveness component.
    Silence,
    /// A request or reliable send that timed out (liveness): −2, in the clamped liveness component.
    Timeout,
    /// An ack for a message this peer was not the destination of (liveness): −5, clamped likewise.
    AckFromNonDestination,
}

impl PeerBehavior {
    /// The points this behaviour adds (negative: a fault).
    pub const fn weight(self) -> f64 {
        match self {
            PeerBehavior::ValidMessage => 1.0,
            PeerBehavior::Equivocation | PeerBehavior::Impersonation => -1000.0,
            PeerBehavior::InvalidSignature | PeerBehavior::ProtocolViolation | PeerBehavior::InvalidEvidence => -100.0,
            PeerBehavior::UndecodablePayload => -50.0,
            PeerBehavior::UnknownOrigin | PeerBehavior::Replay => -20.0,
            PeerBehavior::OverQuota => -2.0,
            PeerBehavior::Silence | PeerBehavior::AckFromNonDestination => -5.0,
            PeerBehavior::Timeout => -2.0,
        }
    }

    /// Whether this is provable misbehaviour of the origin (a signed proof exists): it bans at once,
    /// whatever the score was.
    pub const fn is_provable(self) -> bool {
        matches!(self, PeerBehavior::Equivocation | PeerBehavior::Impersonation)
    }

    /// Whether this is a liveness fact (reported, lightly scored, never alone a disconnect or ban).
    pub const fn is_liveness(self) -> bool {
        matches!(self, PeerBehavior::Silence | PeerBehavior::Timeout | PeerBehavior::AckFromNonDestination)
    }
}
