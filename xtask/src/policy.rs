//! Whether an IAM policy document allows a request: the part of IAM's evaluation that the
//! stack's own policies use (Allow and Deny, `Action` and `Resource` with `*` and `?`, and the
//! `StringEquals` and `StringLike` conditions). The local AWS does not enforce IAM, so the
//! policy a plan holds is checked with this instead.

use serde_json::Value;

/// One request: an action on a resource, with the condition keys IAM would know.
pub struct Request<'a> {
    pub action: &'a str,
    pub resource: &'a str,
    pub context: &'a [(&'a str, &'a str)],
}

/// Allowed when an Allow statement matches and no Deny does.
pub fn allows(document: &Value, request: &Request) -> bool {
    let statements = match &document["Statement"] {
        Value::Array(statements) => statements.clone(),
        statement => vec![statement.clone()],
    };
    let matching = |effect: &str| {
        statements
            .iter()
            .filter(|s| s["Effect"] == effect)
            .any(|s| matches(s, request))
    };
    matching("Allow") && !matching("Deny")
}

fn matches(statement: &Value, request: &Request) -> bool {
    // IAM actions ignore case; resources do not.
    let action = request.action.to_lowercase();
    strings(&statement["Action"])
        .iter()
        .any(|pattern| wildcard(&pattern.to_lowercase(), &action))
        && strings(&statement["Resource"])
            .iter()
            .any(|pattern| wildcard(pattern, request.resource))
        && conditions_hold(&statement["Condition"], request.context)
}

/// Every operator and key must hold; an operator not handled here never does.
fn conditions_hold(condition: &Value, context: &[(&str, &str)]) -> bool {
    let Some(operators) = condition.as_object() else {
        return true;
    };
    operators.iter().all(|(operator, keys)| {
        keys.as_object().is_some_and(|keys| {
            keys.iter().all(|(key, values)| {
                let Some((_, actual)) = context.iter().find(|(k, _)| k.eq_ignore_ascii_case(key))
                else {
                    return false;
                };
                strings(values).iter().any(|value| match operator.as_str() {
                    "StringEquals" => value == actual,
                    "StringLike" => wildcard(value, actual),
                    _ => false,
                })
            })
        })
    })
}

fn strings(value: &Value) -> Vec<String> {
    match value {
        Value::String(one) => vec![one.clone()],
        Value::Array(many) => many
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => vec![],
    }
}

/// IAM's glob: `*` is any run of characters, `?` any one.
fn wildcard(pattern: &str, text: &str) -> bool {
    let pattern: Vec<char> = pattern.chars().collect();
    let text: Vec<char> = text.chars().collect();
    glob(&pattern, &text)
}

fn glob(pattern: &[char], text: &[char]) -> bool {
    match pattern.split_first() {
        None => text.is_empty(),
        Some(('*', rest)) => (0..=text.len()).any(|skip| glob(rest, &text[skip..])),
        Some((wanted, rest)) => text
            .split_first()
            .is_some_and(|(c, text)| (*wanted == '?' || wanted == c) && glob(rest, text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROFILE: &str = "arn:aws:bedrock:us-west-2:1:inference-profile/us.m";

    fn document() -> Value {
        serde_json::json!({
            "Statement": [
                {"Effect": "Allow", "Action": "bedrock:InvokeModel",
                 "Resource": ["arn:aws:bedrock:*::foundation-model/m-v?"],
                 "Condition": {"StringEquals": {"bedrock:InferenceProfileArn": [PROFILE]}}},
                {"Effect": "Allow", "Action": ["bedrock:Get*"], "Resource": "*"},
                {"Effect": "Deny", "Action": "bedrock:GetSecret", "Resource": "*"},
            ]
        })
    }

    fn allowed(action: &str, resource: &str, context: &[(&str, &str)]) -> bool {
        allows(
            &document(),
            &Request {
                action,
                resource,
                context,
            },
        )
    }

    #[test]
    fn wildcards_conditions_and_denials_are_evaluated() {
        let model = "arn:aws:bedrock:us-east-2::foundation-model/m-v1";
        let through_profile = [("bedrock:InferenceProfileArn", PROFILE)];
        assert!(allowed("bedrock:invokemodel", model, &through_profile));
        assert!(!allowed("bedrock:InvokeModel", model, &[]), "no profile");
        assert!(!allowed(
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-2::foundation-model/m-v10",
            &through_profile
        ));
        assert!(allowed("bedrock:GetFoundationModel", "x", &[]));
        assert!(!allowed("bedrock:GetSecret", "x", &[]), "denied");
        assert!(!allowed("s3:GetObject", "x", &[]), "never allowed");
    }
}
