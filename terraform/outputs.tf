output "alb_dns_name" {
  description = "DNS name of the load balancer."
  value       = try(aws_lb.this.dns_name, null)
}

output "url" {
  description = "The studio's address: https://<distribution>.cloudfront.net, or https://domain_name. The load balancer answers only CloudFront."
  value       = try(local.url, null)
}

output "cloudfront_domain_name" {
  description = "The distribution's own name (<id>.cloudfront.net): where a CNAME or alias for domain_name points."
  value       = try(aws_cloudfront_distribution.this.domain_name, null)
}

output "auth" {
  description = "How people sign in: cognito, oidc or none (the variable auth)."
  value       = var.auth
}

output "user_pool_id" {
  description = "The Cognito user pool that `cargo xtask users` manages; null unless auth = \"cognito\"."
  value       = try(aws_cognito_user_pool.this[0].id, null)
}

output "oidc_client_secret_parameter_arn" {
  description = "ARN of the SSM SecureString parameter holding the sign-in client secret (EASEL_OIDC_CLIENT_SECRET); null with auth = \"none\"."
  value       = try(aws_ssm_parameter.oidc_client_secret[0].arn, null)
}

output "ecr_repository_url" {
  description = "URL of the ECR repository to push images to (without tag)."
  value       = try(aws_ecr_repository.app.repository_url, null)
}

output "image" {
  description = "Full image reference (repository:tag) the task definition runs."
  value       = local.image
}

output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = try(aws_ecs_cluster.this.name, null)
}

output "service_name" {
  description = "Name of the ECS service."
  value       = try(aws_ecs_service.app.name, null)
}

output "task_definition_arn" {
  description = "ARN (with revision) of the task definition the service runs."
  value       = try(aws_ecs_task_definition.app.arn, null)
}

output "bedrock_models" {
  description = "Bedrock model and inference profile ids the task role may invoke: the catalogue's (app/models.toml, app/operations.toml)."
  value       = concat(keys(local.catalogue.models), keys(local.catalogue.profiles))
}

output "gallery_bucket" {
  description = "Name of the S3 bucket holding the gallery (user images)."
  value       = try(aws_s3_bucket.gallery.id, null)
}

output "log_group" {
  description = "CloudWatch log group of the containers."
  value       = try(aws_cloudwatch_log_group.app.name, null)
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = try(aws_vpc.this.id, null)
}

output "target_group_arn" {
  description = "ARN of the ALB target group the service registers its tasks in."
  value       = try(aws_lb_target_group.app.arn, null)
}

output "region" {
  description = "Region the stack is deployed in."
  value       = local.region
}

output "account_id" {
  description = "AWS account the stack is deployed in; the xtask refuses to deploy or destroy from any other."
  value       = local.account_id
}

output "cookie_key_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the cookie-signing key (EASEL_COOKIE_KEY)."
  value       = try(aws_secretsmanager_secret.cookie_key.arn, null)
}
