//! `trailgraph-gen`: the deterministic corpus generator of the benchmarks and tests (see
//! benches/README.md). The generator itself is the library of this crate.

use clap::Parser;

fn main() -> anyhow::Result<()> {
    let args = trailgraph_bench::Args::parse();
    let summary = trailgraph_bench::generate(&args)?;
    eprintln!("trailgraph-gen: {summary}");
    Ok(())
}
