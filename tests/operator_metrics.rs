//! `quorumnet node`'s metrics endpoint: four processes over tcp-noise on loopback, each serving
//! `metrics`, are read through their endpoints until every one reports height 10 and three
//! connected peers; a `metrics` address already in use stops the node before it starts.

mod operator_support;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use operator_support::{
    config_text, free_port, http_get, keygen, metric_sum, node_fields, quorumnet, run_bounded, set_entry,
    stop_with_sigterm, toml_string, Children, Event,
};

const VALIDATORS: usize = 4;
const TARGET: f64 = 10.0;
/// Debug builds of four processes sharing the machine's CPUs with the test and perhaps other work:
/// the local preset commits a height in well under a second, so this is a wide margin.
const COMMIT_WITHIN: Duration = Duration::from_secs(120);
/// A stopping node closes its links (bounded by their close timeout) and ends its engine.
const EXIT_WITHIN: Duration = Duration::from_secs(20);
/// The longest pause between two rounds of scrapes when no node printed anything.
const SCRAPE_EVERY: Duration = Duration::from_millis(500);

/// What one scrape showed that the test waits for.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Reading {
    committed: f64,
    connected: f64,
    frames_sent: f64,
    frames_received: f64,
}

/// Scrapes `address`: the reading, or why there is none yet (not listening, not a 200, a metric
/// missing).
fn read_metrics(address: SocketAddr) -> Result<(Reading, String), String> {
    let response = http_get(address, "/metrics").map_err(|e| format!("GET {address}/metrics: {e}"))?;
    let (head, body) = response.split_once("\r\n\r\n").ok_or_else(|| format!("no end of head: {response:?}"))?;
    if !head.starts_with("HTTP/1.1 200 ") || !head.contains("application/openmetrics-text") {
        return Err(format!("not an OpenMetrics 200: {head}"));
    }
    let metric = |name: &str| metric_sum(body, name).ok_or_else(|| format!("no {name} in:\n{body}"));
    let reading = Reading {
        committed: metric("quorumnet_committed_height")?,
        connected: metric("quorumnet_connected_peers")?,
        frames_sent: metric("quorumnet_frames_sent_total")?,
        frames_received: metric("quorumnet_frames_received_total")?,
    };
    Ok((reading, body.to_owned()))
}

#[test]
fn four_nodes_report_height_ten_three_peers_and_traffic_through_their_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<_> = (0..VALIDATORS).map(|i| keygen(dir.path(), &format!("v{i}.key"))).collect();
    let ports: Vec<u16> = (0..VALIDATORS).map(|_| free_port()).collect();
    let metrics: Vec<SocketAddr> = (0..VALIDATORS).map(|_| SocketAddr::from(([127, 0, 0, 1], free_port()))).collect();
    let address = |i: usize| format!("tcp-noise://127.0.0.1:{}", ports[i]);
    let set: String = keys.iter().enumerate().map(|(i, key)| set_entry(key, 1, &[address(i)])).collect();
    std::fs::write(dir.path().join("validators.toml"), set).unwrap();

    let mut children = Children::default();
    for (i, metrics_address) in metrics.iter().enumerate() {
        let mut fields = node_fields(&format!("v{i}.key"), &address(i));
        fields.push(("metrics", toml_string(metrics_address.to_string())));
        let config = dir.path().join(format!("v{i}.toml"));
        std::fs::write(&config, config_text(&fields)).unwrap();
        let mut command = quorumnet();
        command.arg("node").arg("--config").arg(&config);
        children.spawn(command);
    }

    // Scraped after every line a node prints (its commits), and at least every SCRAPE_EVERY.
    let deadline = Instant::now() + COMMIT_WITHIN;
    let mut last: Vec<Result<(Reading, String), String>> = vec![Err("not scraped yet".into()); VALIDATORS];
    let done = |r: &Result<(Reading, String), String>| {
        r.as_ref().is_ok_and(|(reading, _)| reading.committed >= TARGET && reading.connected == 3.0)
    };
    while !last.iter().all(done) {
        if Instant::now() >= deadline {
            let summary: Vec<_> = last.iter().map(|r| r.as_ref().map(|(reading, _)| *reading)).collect();
            panic!(
                "not every node reported height {TARGET} and 3 peers within {COMMIT_WITHIN:?}: {summary:#?}\n{}",
                children.all_stderr()
            );
        }
        if let Some((index, Event::Closed)) = children.next_event(deadline.min(Instant::now() + SCRAPE_EVERY)) {
            panic!("node {index} exited while the others committed\n{}", children.all_stderr());
        }
        for (i, reading) in last.iter_mut().enumerate() {
            if !done(reading) {
                *reading = read_metrics(metrics[i]);
            }
        }
    }
    for (i, scrape) in last.iter().enumerate() {
        let (reading, text) = scrape.as_ref().unwrap();
        assert!(reading.frames_sent > 0.0 && reading.frames_received > 0.0, "node {i}: {reading:?}\n{text}");
        let up = text.lines().filter(|l| l.starts_with("quorumnet_peer_up{") && l.ends_with(" 1")).count();
        assert_eq!(up, 3, "node {i}: peers up\n{text}");
        assert_eq!(metric_sum(text, "quorumnet_node_running"), Some(1.0), "node {i}\n{text}");
        for family in ["quorumnet_committed_height gauge", "quorumnet_peer_rtt_seconds gauge", "quorumnet_bans counter"]
        {
            assert!(text.contains(&format!("# TYPE {family}\n")), "node {i}: no {family}\n{text}");
        }
    }

    stop_with_sigterm(&mut children, &(0..VALIDATORS).collect::<Vec<_>>(), EXIT_WITHIN);
    for (index, metrics) in metrics.iter().enumerate() {
        let after = http_get(*metrics, "/metrics");
        assert!(after.is_err(), "node {index}'s metrics still served after it exited: {after:?}");
    }
}

#[test]
fn a_metrics_address_in_use_stops_the_node_before_it_starts_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let key = keygen(dir.path(), "v.key");
    std::fs::write(dir.path().join("validators.toml"), set_entry(&key, 1, &[])).unwrap();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let metrics = taken.local_addr().unwrap();
    let mut fields = node_fields("v.key", "tcp-noise://127.0.0.1:0");
    fields.push(("metrics", toml_string(metrics.to_string())));
    let config = dir.path().join("v.toml");
    std::fs::write(&config, config_text(&fields)).unwrap();
    let mut command = quorumnet();
    command.arg("node").arg("--config").arg(&config);

    let (status, stdout, stderr) = run_bounded(command, EXIT_WITHIN);
    assert!(!status.success(), "a busy metrics address must fail: {status}\n{stdout}\n{stderr}");
    assert!(stderr.contains("field `metrics`"), "stderr names the field: {stderr}");
    assert!(stderr.contains(&format!("{metrics} is already in use")), "stderr says why: {stderr}");
    assert!(!stdout.contains("started"), "the node must not start: {stdout}");
}
