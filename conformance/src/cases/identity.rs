//! Who may hold a connection: proven identities, the expected id, the live admission handle, impostors.

use quorumnet_core::identity::ValidatorId;
use quorumnet_core::transport::{Admission, TransportError};

use crate::harness::{ensure, Outcome, Peer, Run};
use crate::{ImpostorAttack, TransportFactory};

/// Both sides' `remote()` is the other's proven id.
pub async fn mutual_authentication(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "mutual_authentication");
    let [a, b] = run.group();
    let mut listener = run.listen(&a).await?;
    // `connect` checks both `remote()`s.
    let link = run.connect(&b, &a, &mut *listener).await?;
    ensure!(run, link.dialer.remote() != link.listener.remote(), "both ends report the same remote()");
    Ok(())
}

/// Dialing with an expected id that the listener does not prove fails with a handshake error.
pub async fn wrong_expected_identity_is_refused(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "wrong_expected_identity_is_refused");
    let [a, b, c] = run.group();
    let listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    match run.dial(&b, &addr, Some(c.id)).await? {
        Err(TransportError::Handshake { .. }) => Ok(()),
        Err(other) => Err(run.fail(format!(
            "dialing {addr} (which proves {:?}) expecting {:?} failed, but with {other:?} instead of TransportError::Handshake",
            a.id, c.id
        ))),
        Ok(connection) => Err(run.fail(format!(
            "dialing {addr} expecting {:?} yielded a connection to {:?}: the expected id was ignored",
            c.id,
            connection.remote()
        ))),
    }
}

/// A peer the listener's admission handle refuses gets no connection on either side.
pub async fn unadmitted_peer_is_refused(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "unadmitted_peer_is_refused");
    let (a_key, outsider_key, sentinel_key) = (run.key(1), run.key(2), run.key(3));
    let a = run.peer(a_key.clone(), Admission::for_validators([a_key.validator_id(), sentinel_key.validator_id()]));
    let admits_a = || Admission::for_validators([a_key.validator_id()]);
    let outsider = run.peer(outsider_key, admits_a());
    let sentinel = run.peer(sentinel_key, admits_a());
    let mut listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    let dialed = run.dial(&outsider, &addr, Some(a.id)).await?;
    run.expect_refused("a peer the listener does not admit", dialed).await?;
    run.expect_next_accept_is(&sentinel, &mut *listener, "a peer the listener does not admit").await
}

/// A ban through the live admission handle reaches a listener that is already running.
pub async fn peer_banned_while_listening_is_refused(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "peer_banned_while_listening_is_refused");
    let [a, b, sentinel] = run.group();
    let mut listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    // Admitted before the ban: the listener is live and the peer is welcome.
    let before = run.connect(&b, &a, &mut *listener).await?;
    drop(before);
    a.admission.ban(b.id);
    let dialed = run.dial(&b, &addr, Some(a.id)).await?;
    run.expect_refused("a peer banned while the listener runs", dialed).await?;
    run.expect_next_accept_is(&sentinel, &mut *listener, "a peer banned while the listener runs").await
}

/// A dialer holding key A that presents the victim's public key gets no connection.
pub async fn impostor_claiming_a_key_gets_no_connection(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "impostor_claiming_a_key_gets_no_connection");
    let victim = run.key(4);
    let attack = ImpostorAttack::ClaimsKey { victim: victim.public_key().clone() };
    impostor_gets_no_connection(&run, victim.validator_id(), attack, "an impostor claiming the victim's key").await
}

/// A dialer replaying the victim's proof from another link gets no connection.
pub async fn impostor_replaying_a_proof_gets_no_connection(factory: &dyn TransportFactory) -> Outcome {
    let run = Run::new(factory, "impostor_replaying_a_proof_gets_no_connection");
    let victim = run.key(4);
    let attack = ImpostorAttack::ReplaysProof { victim: victim.clone() };
    impostor_gets_no_connection(&run, victim.validator_id(), attack, "an impostor replaying the victim's proof").await
}

/// The listener admits the victim *and* the attacker's own key, so only the identity proof can tell the
/// impostor apart; it must yield no connection, as the sentinel dialing next proves.
async fn impostor_gets_no_connection(run: &Run<'_>, victim: ValidatorId, attack: ImpostorAttack, who: &str) -> Outcome {
    let [a, attacker, sentinel]: [Peer; 3] = run.group();
    a.admission.allow(victim);
    let impostor = run.factory.impostor(run.context(attacker.key.clone(), attacker.admission.clone()), attack);
    let mut listener = run.listen(&a).await?;
    let addr = listener.local_addr();
    let dialed = run
        .wait(format!("the dial of {who} (the factory's impostor) to return"), impostor.dial(&addr, Some(a.id)))
        .await?;
    if let Ok(connection) = &dialed {
        tracing::info!(remote = ?connection.remote(), "{who}: the impostor's own dial returned Ok; judging the listener");
    }
    run.expect_next_accept_is(&sentinel, &mut *listener, who).await
}
