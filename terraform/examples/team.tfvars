# Easel for a team of ten: HTTPS on a name of your own, reachable from the office and the VPN
# only, with a bill that has a ceiling. Copy it (for example to terraform/team.tfvars), fill in
# the values marked CHANGE, and pass it to every command:
#
#   cargo xtask deploy  --var-file terraform/team.tfvars
#   cargo xtask plan    --var-file terraform/team.tfvars
#   cargo xtask destroy --var-file terraform/team.tfvars
#
# Share the Terraform state too (s3-backend.tf beside this file): with local state, a
# colleague's destroy finds nothing to remove, and two deploys at once overwrite each other.

# Prefix of every resource name; also names the ECR repository and the gallery bucket.
name = "studio"

# Terraform refuses any other account before it reads or changes anything. CHANGE
allowed_account_ids = ["111122223333"]

# The region to deploy into; null takes AWS_REGION. Bedrock is called in bedrock_region.
region         = "eu-west-1"
bedrock_region = "us-west-2"

# HTTPS comes with CloudFront on https://<id>.cloudfront.net; a name of your own needs an ACM
# certificate for it in us-east-1 (CloudFront's region for certificates, whatever `region`
# says). Point the name at the output cloudfront_domain_name (a CNAME or alias). CHANGE
domain_name     = "studio.example.com"
certificate_arn = "arn:aws:acm:us-east-1:111122223333:certificate/00000000-0000-0000-0000-000000000000"

# Who may reach the studio: the office and the VPN's egress addresses. Everyone else gets a
# 403, even before signing in. CHANGE
allowed_ingress_cidrs = ["203.0.113.0/24", "198.51.100.17/32"]

# Sign-in through the stack's Cognito user pool (the default): add each colleague with
# `cargo xtask users add EMAIL --var-file terraform/team.tfvars`. These two may open /admin. CHANGE
admins = ["lead@example.com", "ops@example.com"]

# A bounded bill: each person may spend $3 a day on Bedrock, the whole team $150 a month
# (about 3,750 Stable Image Core pictures). Past a cap, new jobs are refused with a reason.
budget_daily_usd   = 3
budget_monthly_usd = 150

# Two tasks keep the studio up through a Spot interruption; ten people rarely need more than
# four. Each task costs about $3.65/month for its address plus its Fargate Spot time.
min_count     = 2
desired_count = 2
max_count     = 4

# Graviton tasks cost about 20% less; the xtask builds an arm64 image for them.
cpu_architecture = "ARM64"

tags = {
  Team       = "design"
  CostCenter = "1234"
}
