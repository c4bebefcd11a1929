//! No input column is copied on the way into a plugin: the probe fixture reports the address of
//! the `id` buffer it reads, and it is the host's own buffer.

use arrow_array::cast::AsArray;
use arrow_array::types::Float64Type;
use arrow_array::{ArrayRef, Int64Array, RecordBatch};
use kindred_e2e::plugin_library;
use kindred_plugin_host::tables::{TableData, schema};
use kindred_plugin_host::{StrategyInstance, TableId, load};
use std::sync::Arc;

#[test]
fn the_plugin_reads_the_hosts_buffers() {
    let library = load(&plugin_library("kindred_fixture_misbehaving"), None).expect("load the probe");
    let probe = StrategyInstance::create("probe", &library, &serde_json::json!({ "mode": "buffer_address" }))
        .expect("create the probe");
    let ids: ArrayRef = Arc::new((1..=1000_i64).collect::<Int64Array>());
    let schema = schema(TableId::Customers, &[0]);
    let batch = RecordBatch::try_new(schema.clone(), vec![ids.clone()]).expect("batch");
    let host_address = ids.to_data().buffers()[0].as_ptr() as usize;

    let tables = [TableData { table: TableId::Customers, schema, batches: vec![batch] }];
    let output = probe.assign(&tables, 0).expect("assign");
    assert_eq!(output.num_rows(), 1000);
    let scores = output.column(2).as_primitive::<Float64Type>();
    assert!(
        scores.iter().all(|score| score.map(|s| s as usize) == Some(host_address)),
        "the plugin read a copy"
    );
}
