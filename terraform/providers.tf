# Credentials, region and endpoints come from the environment (AWS_PROFILE,
# AWS_ACCESS_KEY_ID, AWS_REGION, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>),
# so a real account and a local emulator differ only in environment variables.
provider "aws" {
  region = var.region

  # A wrong profile or region is refused before anything is read or changed.
  allowed_account_ids = var.allowed_account_ids

  default_tags {
    tags = local.tags
  }
}
