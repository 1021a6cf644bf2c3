//! The metrics layer in-process, for a profiler: `valgrind --tool=callgrind
//! target/release/examples/metrics_layer on 200000` (or `off`), then `callgrind_annotate`.

use bench::peers::trivial;
use bench::scenarios::metrics::in_process;

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let metrics = args.first().is_some_and(|flag| flag == "on");
    let calls = args.get(1).and_then(|n| n.parse().ok()).unwrap_or(200_000);
    if metrics {
        trivial::install_exporter()?;
    }
    let nanos = in_process(metrics, calls).await?;
    eprintln!(
        "metrics {}: {nanos:.0} ns per request",
        if metrics { "on" } else { "off" }
    );
    Ok(())
}
