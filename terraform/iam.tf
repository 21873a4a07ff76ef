################################################################################
# Task execution role: what ECS itself needs to start a task
# (pull the image from this stack's repository, write its logs, read the
# cookie key into the container).
################################################################################

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    # Only tasks of this account may assume the roles (confused deputy guard).
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  description        = "ECS pulls the Easel image, writes its logs and reads the cookie key"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = { Name = "${var.name}-execution" }
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid = "EcrLogin"
    # GetAuthorizationToken has no resource-level permissions.
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"]
  }

  statement {
    sid = "EcrPull"
    actions = [
      "ecr:BatchCheckLayerAvailability",
      "ecr:BatchGetImage",
      "ecr:GetDownloadUrlForLayer",
    ]
    resources = [aws_ecr_repository.app.arn]
  }

  statement {
    sid       = "Logs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.app.arn}:*"]
  }

  # Only the execution role reads the key: the app itself may not.
  statement {
    sid       = "CookieKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.cookie_key.arn]
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-and-log"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

################################################################################
# Task role: what the app may do
# - bedrock:InvokeModel on the configured models (or inference profiles) only,
#   in the Bedrock region;
# - read the Bedrock model catalogue;
# - read and write its own gallery prefix in its own bucket: the gallery, the
#   job records and the budget ledger all live in that store (EASEL_STORAGE).
################################################################################

locals {
  # An id whose first segment is a geography (us.stability..., eu.amazon...)
  # names a cross-region inference profile; any other id is a foundation model.
  inference_profile_geographies = ["us", "us-gov", "eu", "apac", "jp", "au", "ca", "global"]

  bedrock_profile_ids = [for m in var.bedrock_models : m if contains(local.inference_profile_geographies, split(".", m)[0])]
  bedrock_model_ids   = [for m in var.bedrock_models : m if !contains(local.inference_profile_geographies, split(".", m)[0])]

  bedrock_model_arns = [
    for m in local.bedrock_model_ids : "arn:${local.partition}:bedrock:${var.bedrock_region}::foundation-model/${m}"
  ]
  bedrock_profile_arns = [
    for p in local.bedrock_profile_ids : "arn:${local.partition}:bedrock:${var.bedrock_region}:${local.account_id}:inference-profile/${p}"
  ]
  # A profile routes to its model in any region of its geography; those calls
  # are allowed only when they come through one of the configured profiles.
  bedrock_profile_model_arns = [
    for p in local.bedrock_profile_ids : "arn:${local.partition}:bedrock:*::foundation-model/${join(".", slice(split(".", p), 1, length(split(".", p))))}"
  ]
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "The Easel app: invoke the configured Bedrock models, use its gallery bucket"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = { Name = "${var.name}-task" }
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "InvokeConfiguredModels"
    actions   = ["bedrock:InvokeModel"]
    resources = concat(local.bedrock_model_arns, local.bedrock_profile_arns)
  }

  dynamic "statement" {
    for_each = length(local.bedrock_profile_ids) > 0 ? [1] : []
    content {
      sid       = "InvokeModelsThroughConfiguredProfiles"
      actions   = ["bedrock:InvokeModel"]
      resources = local.bedrock_profile_model_arns

      condition {
        test     = "StringLike"
        variable = "bedrock:InferenceProfileArn"
        values   = local.bedrock_profile_arns
      }
    }
  }

  statement {
    sid = "ReadModelCatalogue"
    # The List actions have no resource-level permissions.
    actions = [
      "bedrock:ListFoundationModels",
      "bedrock:ListInferenceProfiles",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ReadModelDetails"
    actions   = ["bedrock:GetFoundationModel"]
    resources = ["arn:${local.partition}:bedrock:${var.bedrock_region}::foundation-model/*"]
  }

  # ListBucket also makes S3 answer 404, not 403, for a missing key under the
  # prefix, which the store needs to tell "no such job yet" from a failure.
  statement {
    sid       = "ListGallery"
    actions   = ["s3:ListBucket"]
    resources = [aws_s3_bucket.gallery.arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.gallery_prefix}/*", local.gallery_prefix]
    }
  }

  # Conditional writes (PutObject with If-None-Match or If-Match), which claim
  # jobs and update the ledger, need PutObject and nothing more.
  statement {
    sid = "ReadWriteGallery"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.gallery.arn}/${local.gallery_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "bedrock-and-gallery"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
