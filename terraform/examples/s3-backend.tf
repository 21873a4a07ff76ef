# Shared state for a team or CI: copy this file to terraform/backend_override.tf (git ignores
# it), fill in the bucket, and run `cargo xtask deploy` as usual: Terraform keeps the state in
# S3 and holds a lock file beside it while it works, so two deploys never run at once.
#
# The bucket: private, versioned (an older state can be restored), in any region. Every
# operator needs s3:ListBucket on it and s3:GetObject, s3:PutObject and s3:DeleteObject on the
# key and on the key plus ".tflock". Move an existing local state there with
# `terraform -chdir=terraform init -migrate-state`.
terraform {
  backend "s3" {
    bucket       = "CHANGE-easel-terraform-state"
    key          = "studio/terraform.tfstate"
    region       = "eu-west-1"
    encrypt      = true
    use_lockfile = true
  }
}
