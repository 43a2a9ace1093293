//! `metav1.LabelSelector` to the model, with the API server's validation.

use k8s_openapi::apimachinery::pkg::apis::meta::v1 as meta;
use netfence_model::{LabelSelector, Operator, Requirement};

/// Converts a selector, returning a message when the API server would reject it.
pub(crate) fn convert(sel: &meta::LabelSelector) -> Result<LabelSelector, String> {
    let mut out = LabelSelector::everything();
    if let Some(ml) = &sel.match_labels {
        for (k, v) in ml {
            out.match_labels.insert(k.clone(), v.clone());
        }
    }
    for (i, e) in sel.match_expressions.iter().flatten().enumerate() {
        let operator = match e.operator.as_str() {
            "In" => Operator::In,
            "NotIn" => Operator::NotIn,
            "Exists" => Operator::Exists,
            "DoesNotExist" => Operator::DoesNotExist,
            other => {
                return Err(format!(
                    "matchExpressions[{i}]: unknown operator `{other}` (expected In, NotIn, Exists or DoesNotExist)"
                ))
            }
        };
        let values = e.values.clone().unwrap_or_default();
        match operator {
            Operator::In | Operator::NotIn if values.is_empty() => {
                return Err(format!(
                    "matchExpressions[{i}]: operator `{}` needs at least one value",
                    e.operator
                ))
            }
            Operator::Exists | Operator::DoesNotExist if !values.is_empty() => {
                return Err(format!(
                    "matchExpressions[{i}]: operator `{}` takes no values",
                    e.operator
                ))
            }
            _ => {}
        }
        if e.key.is_empty() {
            return Err(format!("matchExpressions[{i}]: empty key"));
        }
        out.match_expressions.push(Requirement {
            key: e.key.clone(),
            operator,
            values,
        });
    }
    Ok(out)
}
