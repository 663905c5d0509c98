//! Lineage artifact and model references (`orders@3.amount`, `model:churn@2`,
//! `snapshots.churn.customer_id`): any text resolves or fails with an error, never a panic,
//! and a resolved column reference names a dataset the graph knows.
#![no_main]

use std::sync::OnceLock;

use custodia_engine::{lineage::Graph, models::parse_model_ref, ColumnEdge};
use libfuzzer_sys::fuzz_target;

fn graph() -> &'static Graph {
    static G: OnceLock<Graph> = OnceLock::new();
    G.get_or_init(|| {
        let edge = |out: &str, oc: &str, inp: &str, ic: &str| ColumnEdge {
            run_id: "r".into(),
            step: "s".into(),
            output_dataset: out.into(),
            output_column: oc.into(),
            input_dataset: inp.into(),
            input_column: ic.into(),
            transform: "identity".into(),
        };
        Graph::from_edges(vec![
            edge("orders@1", "amount", "file:data/*.csv", "amount"),
            edge("snapshots.churn@2", "amount", "orders@1", "amount"),
            edge("model:churn@2", "amount", "snapshots.churn@2", "amount"),
        ])
    })
}

fuzz_target!(|text: &str| {
    let _ = parse_model_ref(text);
    if let Ok(a) = graph().resolve(text) {
        let name = a.dataset.rsplit_once('@').map_or(a.dataset.as_str(), |(n, _)| n);
        assert!(
            ["orders", "file:data/*.csv", "snapshots.churn", "model:churn"].contains(&name),
            "{text:?} resolved to unknown {name:?}"
        );
        let _ = graph().trace(&a, custodia_engine::lineage::Direction::Upstream).text();
    }
});
