################################################################################
# Sign-in
#
# auth = "cognito" (the default): a Cognito user pool on the Lite plan (no
# charge up to 10,000 monthly active users), with sign-in by e-mail. Only an
# administrator adds people (`cargo xtask users add EMAIL`); Cognito mails each
# one a first password. An app client with a secret runs the code flow against
# the pool's managed sign-in domain, back to {url}/auth/callback.
#
# auth = "oidc": any OpenID Connect provider (Google Workspace, Entra ID, Okta,
# ...), from oidc_issuer, oidc_client_id and oidc_client_secret.
#
# auth = "none": no sign-in; whoever reaches the studio may use it.
#
# The client secret goes to the task as an ECS secret, as the cookie key does
# (secrets.tf), from an encrypted SSM parameter.
################################################################################

locals {
  cognito = var.auth == "cognito"
  signin  = var.auth != "none"

  # Domain prefixes are unique per region across accounts: the suffix keeps
  # two accounts' stacks of the same name apart.
  cognito_domain = "${var.name}-${substr(sha256("${local.account_id}/${local.region}/${var.name}"), 0, 8)}"

  oidc_issuer        = local.cognito ? "https://cognito-idp.${local.region}.amazonaws.com/${aws_cognito_user_pool.this[0].id}" : var.oidc_issuer
  oidc_client_id     = local.cognito ? aws_cognito_user_pool_client.app[0].id : var.oidc_client_id
  oidc_client_secret = local.cognito ? aws_cognito_user_pool_client.app[0].client_secret : var.oidc_client_secret

  # Cognito's logout endpoint is not in its discovery document.
  auth_environment = merge(
    { EASEL_AUTH = local.signin ? "oidc" : "none" },
    local.signin ? {
      EASEL_OIDC_ISSUER    = local.oidc_issuer
      EASEL_OIDC_CLIENT_ID = local.oidc_client_id
    } : {},
    local.cognito ? {
      EASEL_OIDC_LOGOUT_URL = "https://${local.cognito_domain}.auth.${local.region}.amazoncognito.com/logout"
    } : {},
    length(var.admins) > 0 ? { EASEL_ADMINS = join(",", var.admins) } : {},
  )
}

resource "aws_cognito_user_pool" "this" {
  count = local.cognito ? 1 : 0

  name                = var.name
  user_pool_tier      = "LITE"
  username_attributes = ["email"]
  deletion_protection = "INACTIVE" # destroy removes the pool with the stack

  auto_verified_attributes = ["email"]

  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  account_recovery_setting {
    recovery_mechanism {
      name     = "verified_email"
      priority = 1
    }
  }

  password_policy {
    minimum_length                   = 12
    require_lowercase                = true
    require_uppercase                = true
    require_numbers                  = true
    require_symbols                  = false
    temporary_password_validity_days = 7
  }

  tags = { Name = var.name }
}

resource "aws_cognito_user_pool_domain" "this" {
  count = local.cognito ? 1 : 0

  domain       = local.cognito_domain
  user_pool_id = aws_cognito_user_pool.this[0].id
}

resource "aws_cognito_user_pool_client" "app" {
  count = local.cognito ? 1 : 0

  name            = var.name
  user_pool_id    = aws_cognito_user_pool.this[0].id
  generate_secret = true

  allowed_oauth_flows_user_pool_client = true
  allowed_oauth_flows                  = ["code"]
  allowed_oauth_scopes                 = ["openid", "email", "profile"]
  supported_identity_providers         = ["COGNITO"]
  callback_urls                        = ["${local.url}/auth/callback"]
  logout_urls                          = ["${local.url}/"]

  explicit_auth_flows           = ["ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors = "ENABLED"
  enable_token_revocation       = true
}

# A SecureString parameter (standard tier, the AWS-managed key) costs nothing;
# a second Secrets Manager secret would cost $0.40 a month.
resource "aws_ssm_parameter" "oidc_client_secret" {
  #checkov:skip=CKV_AWS_337:The AWS-managed key encrypts the parameter at rest; a customer-managed KMS key adds $1/month and a key policy for no gain here.
  count = local.signin ? 1 : 0

  name        = "/${var.name}/oidc-client-secret"
  description = "Easel's OpenID Connect client secret (EASEL_OIDC_CLIENT_SECRET)"
  type        = "SecureString"
  tier        = "Standard"
  value       = local.oidc_client_secret

  tags = { Name = "${var.name}-oidc-client-secret" }
}
