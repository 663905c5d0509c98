//! Column-level lineage, read from DataFusion logical plans: for every output column of a
//! step, the input columns it derives from and how (identity, expression, aggregate).
//!
//! The walk follows the plan from its table scans up: a projection maps each expression to
//! the columns it references, an aggregate does the same for its groups and aggregates, a
//! join concatenates its sides, a union merges its inputs field by field, and nodes that
//! pass rows through (filter, sort, limit, alias, distinct, repartition) keep the mapping.

use std::collections::BTreeMap;

use datafusion::{
    common::JoinType,
    logical_expr::{Expr, LogicalPlan},
};

/// How an output column derives from an input column, from weakest to strongest change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Derivation {
    /// The same values.
    Identity,
    /// Computed from the input by a row-wise expression.
    Expression,
    /// Computed by an aggregate over many rows.
    Aggregate,
}

impl Derivation {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Derivation::Identity => "identity",
            Derivation::Expression => "expression",
            Derivation::Aggregate => "aggregate",
        }
    }
}

/// Per output field: `(table, column) → strongest derivation along the way`.
pub type FieldLineage = BTreeMap<(String, String), Derivation>;

fn merge(into: &mut FieldLineage, from: &FieldLineage, at_least: Derivation) {
    for (k, d) in from {
        let d = (*d).max(at_least);
        into.entry(k.clone())
            .and_modify(|e| *e = (*e).max(d))
            .or_insert(d);
    }
}

fn is_plain_column(e: &Expr) -> bool {
    match e {
        Expr::Column(_) => true,
        Expr::Alias(a) => is_plain_column(&a.expr),
        _ => false,
    }
}

/// The lineage of each output field of `plan`, in schema order.
pub fn plan_lineage(plan: &LogicalPlan) -> Vec<FieldLineage> {
    let width = plan.schema().fields().len();
    let from_exprs = |exprs: &[Expr], input: &LogicalPlan, kind: &dyn Fn(&Expr) -> Derivation| {
        let inner = plan_lineage(input);
        exprs
            .iter()
            .map(|e| {
                let mut out = FieldLineage::new();
                for c in e.column_refs() {
                    if let Some(i) = input.schema().maybe_index_of_column(c) {
                        if let Some(l) = inner.get(i) {
                            merge(&mut out, l, kind(e));
                        }
                    }
                }
                out
            })
            .collect::<Vec<_>>()
    };
    let row_wise = |e: &Expr| {
        if is_plain_column(e) {
            Derivation::Identity
        } else {
            Derivation::Expression
        }
    };
    let out = match plan {
        LogicalPlan::TableScan(scan) => {
            let table = scan.table_name.table().to_string();
            scan.projected_schema
                .fields()
                .iter()
                .map(|f| {
                    let mut l = FieldLineage::new();
                    l.insert((table.clone(), f.name().clone()), Derivation::Identity);
                    l
                })
                .collect()
        }
        LogicalPlan::Projection(p) => from_exprs(&p.expr, &p.input, &row_wise),
        LogicalPlan::Aggregate(a) => {
            let mut v = from_exprs(&a.group_expr, &a.input, &row_wise);
            v.extend(from_exprs(&a.aggr_expr, &a.input, &|_| {
                Derivation::Aggregate
            }));
            v
        }
        LogicalPlan::Window(w) => {
            let mut v = plan_lineage(&w.input);
            v.extend(from_exprs(&w.window_expr, &w.input, &|_| {
                Derivation::Aggregate
            }));
            v
        }
        LogicalPlan::Join(j) => {
            let (l, r) = (plan_lineage(&j.left), plan_lineage(&j.right));
            match j.join_type {
                JoinType::LeftSemi | JoinType::LeftAnti | JoinType::LeftMark => l,
                JoinType::RightSemi | JoinType::RightAnti | JoinType::RightMark => r,
                _ => l.into_iter().chain(r).collect(),
            }
        }
        LogicalPlan::Union(u) => {
            let mut v = vec![FieldLineage::new(); width];
            for input in &u.inputs {
                for (i, l) in plan_lineage(input).iter().enumerate().take(width) {
                    merge(&mut v[i], l, Derivation::Identity);
                }
            }
            v
        }
        other => {
            // Row-preserving nodes (filter, sort, limit, alias, distinct, repartition…):
            // same fields as their single input; otherwise match fields by name.
            let inputs = other.inputs();
            match inputs.as_slice() {
                [one] if one.schema().fields().len() == width => plan_lineage(one),
                _ => {
                    let mut v = vec![FieldLineage::new(); width];
                    for input in inputs {
                        let inner = plan_lineage(input);
                        for (i, f) in plan.schema().fields().iter().enumerate() {
                            if let Some(j) = input.schema().index_of_column_by_name(None, f.name())
                            {
                                if let Some(l) = inner.get(j) {
                                    merge(&mut v[i], l, Derivation::Expression);
                                }
                            }
                        }
                    }
                    v
                }
            }
        }
    };
    let mut out: Vec<FieldLineage> = out;
    out.resize(width, FieldLineage::new());
    out
}

/// The lineage of each named output column: `output column → {(table, column): how}`.
pub fn column_lineage(plan: &LogicalPlan) -> BTreeMap<String, FieldLineage> {
    plan.schema()
        .fields()
        .iter()
        .zip(plan_lineage(plan))
        .map(|(f, l)| (f.name().clone(), l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::{
        array::{Float64Array, Int64Array, RecordBatch, StringArray},
        datatypes::{DataType, Field, Schema},
    };
    use datafusion::{datasource::MemTable, prelude::SessionContext};
    use std::sync::Arc;

    fn table(ctx: &SessionContext, name: &str, cols: &[(&str, DataType)]) {
        let schema = Arc::new(Schema::new(
            cols.iter()
                .map(|(n, t)| Field::new(*n, t.clone(), true))
                .collect::<Vec<_>>(),
        ));
        let arrays = cols
            .iter()
            .map(|(_, t)| -> arrow::array::ArrayRef {
                match t {
                    DataType::Int64 => Arc::new(Int64Array::from(vec![1])),
                    DataType::Float64 => Arc::new(Float64Array::from(vec![1.0])),
                    _ => Arc::new(StringArray::from(vec!["a"])),
                }
            })
            .collect();
        let batch = RecordBatch::try_new(schema.clone(), arrays).unwrap();
        ctx.register_table(
            name,
            Arc::new(MemTable::try_new(schema, vec![vec![batch]]).unwrap()),
        )
        .unwrap();
    }

    #[tokio::test]
    async fn a_multi_join_feature_maps_column_by_column() {
        let ctx = SessionContext::new();
        table(
            &ctx,
            "orders",
            &[
                ("order_id", DataType::Int64),
                ("customer_id", DataType::Utf8),
                ("amount", DataType::Float64),
                ("product_id", DataType::Int64),
            ],
        );
        table(
            &ctx,
            "customers",
            &[
                ("customer_id", DataType::Utf8),
                ("country", DataType::Utf8),
                ("signup_year", DataType::Int64),
            ],
        );
        table(
            &ctx,
            "products",
            &[
                ("product_id", DataType::Int64),
                ("unit_price", DataType::Float64),
                ("category", DataType::Utf8),
            ],
        );
        let df = ctx
            .sql(
                "SELECT c.customer_id, c.country AS home_country, \
                        SUM(o.amount * p.unit_price) AS spend, COUNT(DISTINCT p.category) AS categories, \
                        MAX(c.signup_year) + 1 AS tenure_base \
                 FROM orders o JOIN customers c ON o.customer_id = c.customer_id \
                 JOIN products p ON o.product_id = p.product_id \
                 WHERE o.amount > 0 GROUP BY c.customer_id, c.country",
            )
            .await
            .unwrap();
        let l = column_lineage(df.logical_plan());
        let show = |col: &str| -> Vec<String> {
            l[col]
                .iter()
                .map(|((t, c), d)| format!("{t}.{c}:{}", d.as_str()))
                .collect()
        };
        assert_eq!(show("customer_id"), vec!["customers.customer_id:identity"]);
        assert_eq!(show("home_country"), vec!["customers.country:identity"]);
        assert_eq!(
            show("spend"),
            vec!["orders.amount:aggregate", "products.unit_price:aggregate"]
        );
        assert_eq!(show("categories"), vec!["products.category:aggregate"]);
        assert_eq!(show("tenure_base"), vec!["customers.signup_year:aggregate"]);
    }
}
