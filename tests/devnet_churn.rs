//! Churn on the simulator, in virtual time: validators leave and join mid-run through
//! validator-set changes, the chain never forks, and the new validators' votes are what carries it on.

use std::time::Duration;

use quorumnet::devnet::churn::ChurnPlan;
use quorumnet::devnet::journal::CommitPath;
use quorumnet::devnet::preset::CHURN;
use quorumnet::devnet::{Devnet, DevnetConfig, DevnetError};
use quorumnet::message::Height;

const WITHIN: Duration = Duration::from_secs(120);

fn churning(plan: &str, validators: usize, seed: u64) -> DevnetConfig {
    DevnetConfig { churn: plan.parse::<ChurnPlan>().unwrap(), ..DevnetConfig::memory(validators, seed) }
}

/// The `churn` preset's plan: 0 and 1 leave and 5 and 6 join at height 6, then 2 leaves and 0 comes
/// back at 12. Two of five leaving at once leave the old set short of a quorum, so heights 6 on commit
/// only if the joiners vote and their votes count.
#[tokio::test(start_paused = true)]
async fn validators_leave_and_join_and_the_chain_goes_on_without_a_fork() {
    for seed in [1, 2] {
        let mut devnet = Devnet::start(churning(CHURN, 7, seed)).await.unwrap();
        assert!((5..7).all(|joiner| devnet.node(joiner).is_none()), "joiners are not in the genesis set");
        let finishing = devnet.finishing();
        assert_eq!(finishing, vec![0, 3, 4, 5, 6]);
        devnet.wait_for_height(Height(20), &finishing, WITHIN).await.expect("the last set commits 20 heights");
        devnet.check_agreement().expect("no two validators commit different blocks at a height");
        let churned: Vec<(u64, Vec<usize>, Vec<usize>)> =
            devnet.churned().iter().map(|c| (c.height, c.left.clone(), c.joined.clone())).collect();
        assert_eq!(churned, vec![(6, vec![0, 1], vec![5, 6]), (12, vec![2], vec![0])]);
        assert!(devnet.node(1).is_none() && devnet.node(2).is_none(), "leavers stop");

        let joiner = devnet.journal(5).unwrap().chain;
        assert!(joiner[..5].iter().all(|c| c.path == CommitPath::Synced), "joined synced to height 5");
        assert!(joiner[5..].iter().any(|c| c.path == CommitPath::Decided), "then decides by votes");
        let rejoined = devnet.journal(0).unwrap().chain;
        assert!(rejoined[11..].iter().any(|c| c.path == CommitPath::Decided), "0 decides again after rejoining");
        let left = devnet.journal(2).unwrap().chain.len();
        assert!((11..20).contains(&left), "2 stopped near height 11, committed {left}");

        let peers = devnet.node(3).unwrap().connected_peers().await.unwrap();
        let ids = |of: &[usize]| of.iter().map(|&i| devnet.keys()[i].validator_id()).collect::<Vec<_>>();
        assert!(ids(&[0, 4, 5, 6]).iter().all(|id| peers.contains(id)), "seed {seed}: 3 is linked to the set");
        assert!(ids(&[1, 2]).iter().all(|id| !peers.contains(id)), "seed {seed}: and not to leavers");
        devnet.shutdown().await;
    }
}

#[tokio::test(start_paused = true)]
async fn a_plan_that_cannot_run_is_refused_with_the_option_to_change() {
    for (config, says) in [
        (churning("5:-4", 4, 1), "raise --validators"),
        (churning("5:-0-1-2-3", 4, 1), "leaves no validator"),
        (DevnetConfig { nat: 1, ..churning("5:-0", 4, 1) }, "--nat"),
        (DevnetConfig { churn: "5:-0".parse().unwrap(), ..DevnetConfig::tcp_noise(4, 1) }, "--transport memory"),
    ] {
        match Devnet::start(config).await {
            Err(DevnetError::InvalidOptions(why)) => assert!(why.contains(says), "{why}"),
            Err(other) => panic!("refused for another reason: {other}"),
            Ok(_) => panic!("started a devnet the plan cannot make ({says})"),
        }
    }
}
