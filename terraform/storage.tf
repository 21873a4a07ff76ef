################################################################################
# Gallery bucket: the users' images and their records
#
# The name is fixed per account and region, so a bucket kept by a destroy can
# be adopted again (terraform import) by the next deploy.
################################################################################

resource "aws_s3_bucket" "gallery" {
  #checkov:skip=CKV_AWS_18:Server access logs need a second bucket and cost per request; CloudTrail data events can be turned on when needed.
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; versioning protects against deletes.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES-256) encrypts at rest; a KMS key would add per-request cost and a key policy for no gain here.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events; the app writes and reads the gallery itself.
  bucket        = local.gallery_bucket
  force_destroy = var.delete_images_on_destroy

  tags = { Name = "${var.name}-gallery" }
}

resource "aws_s3_bucket_ownership_controls" "gallery" {
  bucket = aws_s3_bucket.gallery.id

  rule {
    object_ownership = "BucketOwnerEnforced" # ACLs off
  }
}

resource "aws_s3_bucket_public_access_block" "gallery" {
  bucket = aws_s3_bucket.gallery.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "gallery" {
  bucket = aws_s3_bucket.gallery.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "gallery" {
  bucket = aws_s3_bucket.gallery.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "gallery" {
  bucket = aws_s3_bucket.gallery.id

  rule {
    id     = "expire-noncurrent-markers-and-uploads"
    status = "Enabled"

    filter {} # the whole bucket

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_image_days
    }

    # A delete leaves a marker; once the versions behind it have expired, the
    # marker goes too.
    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # A job's files (its record, claims, and an edit's mask or style picture)
  # matter only while it runs; a finished job is listed for an hour, and one
  # whose record is gone is no longer listed. Nothing to recover here.
  rule {
    id     = "expire-job-files"
    status = "Enabled"

    filter {
      prefix = "${local.gallery_prefix}/_easel/jobs/"
    }

    expiration {
      days = var.job_file_days
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  # A session holds the person's ID token. The app deletes an expired one when
  # it is presented again; this takes the ones never presented again, a day
  # after the longest they can live (EASEL_SESSION_HOURS, 168 by default).
  rule {
    id     = "expire-sessions"
    status = "Enabled"

    filter {
      prefix = "${local.gallery_prefix}/_easel/sessions/"
    }

    expiration {
      days = 8
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.gallery]
}

data "aws_iam_policy_document" "gallery_bucket" {
  statement {
    sid       = "DenyInsecureTransport"
    effect    = "Deny"
    actions   = ["s3:*"]
    resources = [aws_s3_bucket.gallery.arn, "${aws_s3_bucket.gallery.arn}/*"]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "gallery" {
  bucket = aws_s3_bucket.gallery.id
  policy = data.aws_iam_policy_document.gallery_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.gallery]
}
