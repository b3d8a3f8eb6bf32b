//! The devnet on the simulator, in virtual time: the reference engine commits, agrees, survives
//! slow and resetting links, crashes and restarts, stalls without a 2/3 quorum and resumes, and a seed
//! fixes the whole commit trace.

use std::time::Duration;

use quorumnet::devnet::journal::CommitPath;
use quorumnet::devnet::{Devnet, DevnetConfig};
use quorumnet::memory::LinkConfig;
use quorumnet::message::Height;

/// Generous virtual-time bound for 20 heights: a height normally takes a few link latencies.
const TWENTY_HEIGHTS: Duration = Duration::from_secs(120);

async fn commits_heights(config: DevnetConfig, heights: u64) -> Devnet {
    let mut devnet = Devnet::start(config).await.expect("devnet starts");
    let everyone: Vec<usize> = (0..devnet.len()).collect();
    devnet.wait_for_height(Height(heights), &everyone, TWENTY_HEIGHTS).await.expect("heights commit");
    let agreed = devnet.check_agreement().expect("every validator commits the same block at every height");
    assert!(agreed >= heights);
    devnet
}

/// Four validators that all committed height 3.
async fn four_at_height_3(seed: u64) -> Devnet {
    let mut devnet = Devnet::start(DevnetConfig::memory(4, seed)).await.unwrap();
    devnet.wait_for_height(Height(3), &[0, 1, 2, 3], TWENTY_HEIGHTS).await.unwrap();
    devnet
}

#[tokio::test(start_paused = true)]
async fn four_validators_commit_20_heights_on_the_simulator() {
    commits_heights(DevnetConfig::memory(4, 1), 20).await.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn seven_validators_commit_20_heights_on_the_simulator() {
    commits_heights(DevnetConfig::memory(7, 2), 20).await.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn validators_commit_over_50ms_links_with_random_resets() {
    let link = LinkConfig {
        latency: Duration::from_millis(50),
        jitter: Duration::from_millis(10),
        mean_time_between_resets: Some(Duration::from_secs(2)),
        ..LinkConfig::perfect()
    };
    let devnet = commits_heights(DevnetConfig { link, ..DevnetConfig::memory(4, 3) }, 20).await;
    let mut resets = 0;
    for (_, stats) in devnet.snapshot().await {
        resets += stats.expect("all running").peers.values().map(|p| p.disconnects).sum::<u64>();
    }
    assert!(resets > 0, "links were reset during the run");
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn crashed_validator_catches_up_after_restart() {
    let mut devnet = four_at_height_3(4).await;
    devnet.crash(3).await.unwrap();
    let down_at = devnet.journal(3).unwrap().chain.len() as u64;
    // The others go on by more than a catch-up batch while it is down.
    devnet.wait_for_height(Height(down_at + 20), &[0, 1, 2], TWENTY_HEIGHTS).await.unwrap();
    devnet.restart(3).await.unwrap();
    let ahead = devnet.journal(0).unwrap().chain.len() as u64;
    devnet.wait_for_height(Height(ahead + 3), &[0, 1, 2, 3], TWENTY_HEIGHTS).await.unwrap();
    devnet.check_agreement().unwrap();
    let restarted = devnet.journal(3).unwrap();
    let caught_up = restarted.chain.iter().filter(|c| c.path == CommitPath::CaughtUp).count() as u64;
    // Some missed heights come back as commit certificates (catch-up), the rest as votes the gossip
    // layer's repair pulls, decided again from them; either way it now holds every height.
    assert!(caught_up > 0, "the catch-up path adopted missed heights");
    assert!(restarted.chain.len() as u64 >= ahead + 3);
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn three_of_four_commit_while_one_is_silent() {
    let mut devnet = Devnet::start(DevnetConfig::memory(4, 5)).await.unwrap();
    devnet.crash(0).await.unwrap();
    devnet.wait_for_height(Height(20), &[1, 2, 3], TWENTY_HEIGHTS).await.unwrap();
    devnet.check_agreement().unwrap();
    // Validator 0 proposes every fourth round: those rounds time out, and the engines say so.
    let timeouts: u64 = (1..4).map(|i| devnet.journal(i).unwrap().timeouts).sum();
    assert!(timeouts > 0);
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn two_of_four_silent_stall_for_ten_rounds_then_commits_resume() {
    let mut devnet = four_at_height_3(6).await;
    devnet.crash(2).await.unwrap();
    devnet.crash(3).await.unwrap();
    // Votes already in flight may finish the height under way; after that nothing can commit.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let stalled_at: Vec<usize> = (0..2).map(|i| devnet.journal(i).unwrap().chain.len()).collect();
    let start_round = devnet.journal(0).unwrap().position.1;
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        if devnet.journal(0).unwrap().position.1 .0 >= start_round.0 + 10 {
            break;
        }
    }
    let still: Vec<usize> = (0..2).map(|i| devnet.journal(i).unwrap().chain.len()).collect();
    assert_eq!(still, stalled_at, "nothing commits for 10 rounds with half the power down");
    // The engines told the liveness monitor who was missing.
    let timed_out = devnet.node(0).unwrap().timed_out_validators().await.unwrap();
    let silent: Vec<_> = [2, 3].iter().map(|i| devnet.keys()[*i].validator_id()).collect();
    assert!(silent.iter().all(|id| timed_out.iter().any(|(t, _)| t == id)), "{timed_out:?}");
    devnet.restart(2).await.unwrap();
    devnet.restart(3).await.unwrap();
    let resume = Height(stalled_at.iter().max().copied().unwrap() as u64 + 3);
    devnet.wait_for_height(resume, &[0, 1, 2, 3], TWENTY_HEIGHTS).await.unwrap();
    devnet.check_agreement().unwrap();
    devnet.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn same_seed_gives_the_same_commit_trace_and_another_seed_a_different_one() {
    async fn trace(seed: u64) -> Vec<quorumnet::devnet::runner::TraceEntry> {
        let devnet = commits_heights(DevnetConfig::memory(4, seed), 10).await;
        let trace = devnet.commit_trace();
        devnet.shutdown().await;
        trace.into_iter().filter(|entry| entry.height <= Height(10)).collect()
    }
    let first = trace(7).await;
    assert_eq!(first, trace(7).await, "same seed, same trace");
    assert_ne!(first, trace(8).await, "another seed, another trace");
}

#[tokio::test(start_paused = true)]
async fn big_blocks_commit_with_the_proposer_uploading_under_three_blocks_per_height() {
    let block_bytes = 512 * 1024;
    let mut config = DevnetConfig {
        link: LinkConfig {
            latency: Duration::from_millis(50),
            jitter: Duration::from_millis(10),
            ..LinkConfig::perfect()
        },
        bandwidth: Some(1_000_000_000 / 8),
        ..DevnetConfig::memory(10, 5)
    };
    config.engine.block_bytes = block_bytes;
    let devnet = commits_heights(config, 5).await;
    let report = quorumnet::devnet::report::Report::collect(&devnet).await;
    // Whole proposals cost the proposer one block per peer: 9 here.
    assert!(
        report.proposer_upload_blocks <= 3.0,
        "proposer uploaded {:.2} blocks per height",
        report.proposer_upload_blocks
    );
    assert!(report.proposer_upload_blocks >= 1.0, "and at least the block once: the counter counts");
    assert_eq!(report.extra_rounds, 0, "parts arrive in time for round 0");
    devnet.shutdown().await;
}
