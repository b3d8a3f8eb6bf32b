//! What the node hands the consensus engine: verified messages, through a bounded channel.

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::identity::ValidatorId;
use crate::message::{ConsensusMessage, Envelope, MessageId};
use crate::node::gossip::Arrival;

/// A verified consensus message from another validator.
///
/// Its envelope verified under the key its origin has in the validator set in force at the message's
/// height (the current set for address records), and the payload names the origin as its author.
/// Each message is delivered once per node (the seen-cache drops further copies); messages this node
/// broadcast itself are not delivered back to it.
#[derive(Clone, Debug)]
pub struct IncomingMessage {
    /// The decoded message.
    pub message: ConsensusMessage,
    /// The signed envelope it came in: evidence a third party can verify.
    pub envelope: Envelope,
    /// Its id.
    pub id: MessageId,
    /// The validator that signed it (proven by the signature).
    pub origin: ValidatorId,
    /// The peer whose authenticated link delivered it (the origin itself, or a forwarder).
    pub from: ValidatorId,
    /// When its last byte arrived.
    pub received_at: Instant,
    /// Whether it came in answer to our own repair request.
    pub arrival: Arrival,
}

/// The engine's end of the node's bounded channel of [`IncomingMessage`]s.
///
/// While it is full the node stops reading from its links, so a slow engine slows its peers down
/// rather than growing memory. Dropping it discards further messages (counted in the node's stats).
#[derive(Debug)]
pub struct IncomingMessages {
    receiver: mpsc::Receiver<IncomingMessage>,
}

impl IncomingMessages {
    pub(crate) fn new(receiver: mpsc::Receiver<IncomingMessage>) -> Self {
        IncomingMessages { receiver }
    }

    /// The next message; `None` once the node has shut down and every message was received.
    pub async fn recv(&mut self) -> Option<IncomingMessage> {
        self.receiver.recv().await
    }

    /// The next message if one is waiting.
    ///
    /// # Errors
    /// [`mpsc::error::TryRecvError::Empty`] when none is, `Disconnected` once the node has shut down.
    pub fn try_recv(&mut self) -> Result<IncomingMessage, mpsc::error::TryRecvError> {
        self.receiver.try_recv()
    }
}
