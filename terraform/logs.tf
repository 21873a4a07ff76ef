resource "aws_cloudwatch_log_group" "app" {
  #checkov:skip=CKV_AWS_338:Application logs, not an audit trail; a year of retention costs more than the stack. Set log_retention_days to keep them longer.
  #checkov:skip=CKV_AWS_158:CloudWatch Logs encrypts at rest by default; a customer-managed KMS key adds $1/month and a key policy for no gain here.
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days

  tags = { Name = "${var.name}-logs" }
}
