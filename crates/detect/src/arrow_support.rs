//! Detection over Arrow string arrays, in parallel across cores.

use arrow::array::{Array, AsArray};
use arrow::datatypes::DataType;
use rayon::prelude::*;

use crate::{Analyzer, DetectError, Finding};

/// Analyzes every value of a `Utf8`, `LargeUtf8` or `Utf8View` array; nulls give no
/// findings. Rows are spread over rayon's pool; the result is in row order.
pub fn analyze_array(
    analyzer: &Analyzer,
    array: &dyn Array,
) -> Result<Vec<Vec<Finding>>, DetectError> {
    fn run<'a>(
        analyzer: &Analyzer,
        n: usize,
        get: impl Fn(usize) -> Option<&'a str> + Sync,
    ) -> Vec<Vec<Finding>> {
        (0..n)
            .into_par_iter()
            .with_min_len(256)
            .map(|i| get(i).map(|t| analyzer.analyze(t)).unwrap_or_default())
            .collect()
    }
    let n = array.len();
    Ok(match array.data_type() {
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            run(analyzer, n, |i| a.is_valid(i).then(|| a.value(i)))
        }
        DataType::LargeUtf8 => {
            let a = array.as_string::<i64>();
            run(analyzer, n, |i| a.is_valid(i).then(|| a.value(i)))
        }
        DataType::Utf8View => {
            let a = array.as_string_view();
            run(analyzer, n, |i| a.is_valid(i).then(|| a.value(i)))
        }
        other => return Err(DetectError::NotStrings(other.to_string())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow::array::{LargeStringArray, StringArray, StringViewArray};
    use custodia_core::EntityType;

    #[test]
    fn all_string_layouts_give_the_same_findings() {
        let rows = vec![Some("mail jane@example.com"), None, Some("nothing here")];
        let analyzer = Analyzer::new(Default::default()).unwrap();
        let a = analyze_array(&analyzer, &StringArray::from(rows.clone())).unwrap();
        let b = analyze_array(&analyzer, &LargeStringArray::from(rows.clone())).unwrap();
        let c = analyze_array(&analyzer, &StringViewArray::from(rows)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        assert_eq!(a[0][0].entity_type, EntityType::EmailAddress);
        assert!(a[1].is_empty() && a[2].is_empty());
        let ints = arrow::array::Int32Array::from(vec![1]);
        assert!(analyze_array(&analyzer, &ints).is_err());
    }
}
