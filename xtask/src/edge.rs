//! The edge as Terraform plans it: the load balancer serves only requests that come through the
//! stack's CloudFront distribution. The local AWS neither enforces listener rules nor resolves
//! CloudFront's names, so these are proven on the plan.

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use xshell::Shell;

    use crate::terraform::Terraform;

    /// The planned values of the resource at `address`.
    fn resource<'a>(plan: &'a Value, address: &str) -> &'a Value {
        plan["planned_values"]["root_module"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .map(|r| &r["values"])
            .unwrap_or_else(|| panic!("the plan has no {address}"))
    }

    /// The configuration of the resource at `address`: what its values are made from.
    fn expressions<'a>(plan: &'a Value, address: &str) -> &'a Value {
        plan["configuration"]["root_module"]["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["address"] == address)
            .map(|r| &r["expressions"])
            .unwrap_or_else(|| panic!("the configuration has no {address}"))
    }

    fn plan() -> Value {
        let sh = Shell::new().unwrap();
        sh.change_dir(crate::project_root());
        Terraform::planned_locally(&sh).unwrap().1
    }

    #[test]
    #[ignore = "needs moto_server, docker-registry and terraform (TF_PLUGIN_DIR); `cargo xtask ci` runs it"]
    fn the_planned_load_balancer_serves_only_cloudfront() {
        let plan = plan();

        let listener = resource(&plan, "aws_lb_listener.http");
        let default = &listener["default_action"][0];
        assert_eq!(default["type"], "fixed-response", "{default}");
        assert_eq!(default["fixed_response"][0]["status_code"], "403");

        let rule = resource(&plan, "aws_lb_listener_rule.from_cloudfront");
        assert_eq!(rule["action"][0]["type"], "forward");
        let header = &rule["condition"][0]["http_header"][0];
        let distribution = resource(&plan, "aws_cloudfront_distribution.this");
        let sent = &distribution["origin"][0]["custom_header"][0];
        assert_eq!(
            header["http_header_name"], sent["name"],
            "the rule checks the header CloudFront sends"
        );
        // The secret is drawn at apply: the rule and the origin are given the same one.
        let secret = |address, path: &str| {
            expressions(&plan, address)
                .pointer(path)
                .unwrap_or_else(|| {
                    panic!("{address} has no {path}: {}", expressions(&plan, address))
                })["references"]
                .clone()
        };
        let checked = secret(
            "aws_lb_listener_rule.from_cloudfront",
            "/condition/0/http_header/0/values",
        );
        assert!(
            checked
                .as_array()
                .unwrap()
                .contains(&Value::from("local.origin_secret")),
            "{checked}"
        );
        assert_eq!(
            checked,
            secret(
                "aws_cloudfront_distribution.this",
                "/origin/0/custom_header/0/value"
            ),
            "the rule forwards only with the secret CloudFront sends"
        );

        let http = resource(&plan, "aws_security_group_rule.alb_http");
        assert!(
            http["cidr_blocks"].as_array().is_none_or(|c| c.is_empty()),
            "{http}"
        );
        assert_eq!(
            http["prefix_list_ids"].as_array().map(Vec::len),
            Some(1),
            "port 80 is open to CloudFront's origin-facing prefix list only"
        );
    }

    #[test]
    #[ignore = "needs moto_server, docker-registry and terraform (TF_PLUGIN_DIR); `cargo xtask ci` runs it"]
    fn the_planned_distribution_caches_only_the_assets() {
        let plan = plan();
        let distribution = resource(&plan, "aws_cloudfront_distribution.this");
        let caching_disabled = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad";
        let all_viewer_headers = "33f36d7e-f396-46d9-90e0-52428a34d9dc";
        let default = &distribution["default_cache_behavior"][0];
        assert_eq!(default["cache_policy_id"], caching_disabled);
        assert_eq!(default["origin_request_policy_id"], all_viewer_headers);
        assert_eq!(default["viewer_protocol_policy"], "redirect-to-https");
        assert_eq!(default["allowed_methods"].as_array().map(Vec::len), Some(7));
        let ordered = distribution["ordered_cache_behavior"].as_array().unwrap();
        assert_eq!(ordered.len(), 1);
        assert_eq!(ordered[0]["path_pattern"], "/assets/*");
        assert_ne!(ordered[0]["cache_policy_id"], caching_disabled);
        assert_eq!(
            distribution["origin"][0]["custom_origin_config"][0]["origin_protocol_policy"],
            "http-only"
        );
    }
}
