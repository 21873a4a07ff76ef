################################################################################
# Cookie-signing key
#
# The key that signs each browser's identity cookie lives in Secrets Manager,
# never in the task definition's plain environment or the gallery bucket:
# whoever holds it can pose as any browser. Terraform draws it from Secrets
# Manager's own generator as an ephemeral value and writes it write-only, so
# the key is in neither the plan nor the state. ECS hands it to the container
# as the secret EASEL_COOKIE_KEY.
#
# Rotation: raise cookie_key_rotation by one and deploy. The new key becomes
# AWSCURRENT, the old one AWSPREVIOUS, and the tasks get the old one as
# EASEL_COOKIE_KEY_PREVIOUS, so cookies signed before the rotation still
# identify their browsers. The key before that is dropped.
################################################################################

ephemeral "aws_secretsmanager_random_password" "cookie_key" {
  # 128 letters and digits (about 760 bits), base64-encoded below: Easel wants
  # base64 of at least 64 bytes.
  password_length     = 128
  exclude_punctuation = true
}

resource "aws_secretsmanager_secret" "cookie_key" {
  #checkov:skip=CKV_AWS_149:The AWS-managed key encrypts the secret at rest; a customer-managed KMS key adds $1/month and a key policy for no gain here.
  #checkov:skip=CKV2_AWS_57:Rotation is a deploy with cookie_key_rotation raised (see above): the tasks must get the previous key too, which a rotation Lambda cannot give them.
  name        = "${var.name}/cookie-key"
  description = "Signs the Easel identity cookie (EASEL_COOKIE_KEY)"

  # Deleted with the stack at once, so the next deploy may create it again.
  recovery_window_in_days = 0

  tags = { Name = "${var.name}-cookie-key" }
}

resource "aws_secretsmanager_secret_version" "cookie_key" {
  secret_id                = aws_secretsmanager_secret.cookie_key.id
  secret_string_wo         = base64encode(ephemeral.aws_secretsmanager_random_password.cookie_key.random_password)
  secret_string_wo_version = var.cookie_key_rotation
}

locals {
  # What ECS reads into the container; the previous key only once there is one.
  container_secrets = merge(
    { EASEL_COOKIE_KEY = aws_secretsmanager_secret.cookie_key.arn },
    var.cookie_key_rotation > 1 ? { EASEL_COOKIE_KEY_PREVIOUS = "${aws_secretsmanager_secret.cookie_key.arn}::AWSPREVIOUS:" } : {},
    local.signin ? { EASEL_OIDC_CLIENT_SECRET = aws_ssm_parameter.oidc_client_secret[0].arn } : {},
  )
}
