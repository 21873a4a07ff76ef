data "aws_region" "current" {}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  # Every resource gets these through the provider's default_tags; each resource adds its own Name.
  tags = merge(
    {
      Application = "easel"
      Stack       = var.name
      ManagedBy   = "terraform"
    },
    var.tags,
  )

  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  container_name = "easel"
  container_port = 8080
  metrics_port   = 9090 # Prometheus metrics; not published through the ALB

  repository_url = coalesce(var.image_repository_url, aws_ecr_repository.app.repository_url)
  image          = "${local.repository_url}:${var.image_tag}"

  gallery_prefix = "gallery"
  # Known before the bucket exists, so the task role's policy is whole in a
  # plan (and the catalogue's grants can be checked there).
  gallery_bucket     = "${var.name}-gallery-${local.account_id}-${local.region}"
  gallery_bucket_arn = "arn:${local.partition}:s3:::${local.gallery_bucket}"
}
