################################################################################
# Task execution role: what ECS itself needs to start a task
# (pull the image from this stack's repository, write its logs, read the
# cookie key and the sign-in client secret into the container).
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

  # Only the execution role reads the secrets: the app itself may not.
  statement {
    sid       = "CookieKey"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = [aws_secretsmanager_secret.cookie_key.arn]
  }

  # The parameter's AWS-managed key needs no kms:Decrypt grant.
  dynamic "statement" {
    for_each = local.signin ? [1] : []
    content {
      sid       = "OidcClientSecret"
      actions   = ["ssm:GetParameters"]
      resources = [aws_ssm_parameter.oidc_client_secret[0].arn]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "pull-image-and-log"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

################################################################################
# Task role: what the app may do
# - bedrock:InvokeModel on the catalogue's models and inference profiles only
#   (catalogue.tf.json, generated from app/models.toml and app/operations.toml);
# - read the Bedrock model catalogue and the account's model subscriptions;
# - read and write its own gallery prefix in its own bucket: the gallery, the
#   job records and the budget ledger all live in that store (EASEL_STORAGE).
################################################################################

locals {
  bedrock_model_arns = [
    for id, region in local.catalogue.models :
    "arn:${local.partition}:bedrock:${coalesce(region, var.bedrock_region)}::foundation-model/${id}"
  ]
  # A profile is called in the Bedrock region...
  bedrock_profile_arns = [
    for id, _ in local.catalogue.profiles :
    "arn:${local.partition}:bedrock:${var.bedrock_region}:${local.account_id}:inference-profile/${id}"
  ]
  # ...and routes each call to its model in one of its regions, which IAM
  # authorises on the model there too.
  bedrock_profile_model_arns = distinct(flatten([
    for profile in values(local.catalogue.profiles) : [
      for region in profile.regions :
      "arn:${local.partition}:bedrock:${region}::foundation-model/${profile.model}"
    ]
  ]))
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  description        = "The Easel app: invoke the catalogue's Bedrock models, use its gallery bucket"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json

  tags = { Name = "${var.name}-task" }
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "InvokeCatalogueModels"
    actions   = ["bedrock:InvokeModel"]
    resources = concat(local.bedrock_model_arns, local.bedrock_profile_arns)
  }

  # Only through the catalogue's profiles: a direct call to these models in
  # another region stays refused.
  dynamic "statement" {
    for_each = length(local.bedrock_profile_arns) > 0 ? [1] : []
    content {
      sid       = "InvokeModelsThroughCatalogueProfiles"
      actions   = ["bedrock:InvokeModel"]
      resources = local.bedrock_profile_model_arns

      condition {
        test     = "StringEquals"
        variable = "bedrock:InferenceProfileArn"
        values   = local.bedrock_profile_arns
      }
    }
  }

  statement {
    sid = "ReadModelCatalogueAndSubscriptions"
    # These actions have no resource-level permissions. The subscription
    # states shown in the page come from GetFoundationModelAvailability.
    actions = [
      "bedrock:ListFoundationModels",
      "bedrock:ListInferenceProfiles",
      "bedrock:GetFoundationModelAvailability",
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
    resources = [local.gallery_bucket_arn]

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
    resources = ["${local.gallery_bucket_arn}/${local.gallery_prefix}/*"]
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "bedrock-and-gallery"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}
