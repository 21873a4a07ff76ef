################################################################################
# CloudFront in front of the load balancer
#
# HTTPS without a domain: the browser talks to https://<id>.cloudfront.net (or
# domain_name, with an ACM certificate in us-east-1). CloudFront reaches the
# ALB over plain HTTP: an ALB has no certificate without a domain of its own.
# That hop runs between AWS's edge and the ALB over the public internet.
#
# The ALB takes traffic only from CloudFront: its security group admits only
# CloudFront's origin-facing addresses (network.tf), and its listener answers
# 403 unless the request carries the origin secret that only this
# distribution sends (alb.tf).
#
# Nothing is cached but /assets/*: pages, fragments, pictures and job streams
# go to the app every time, with every viewer header, cookie and query string
# (CloudFront-Viewer-Address among them, which EASEL_ALLOWED_VIEWER_CIDRS
# checks).
################################################################################

locals {
  # AWS's managed policies have fixed ids in every account.
  cache_policy_disabled                = "4135ea2d-6df8-44a3-9df3-4b5a84be39ad" # Managed-CachingDisabled
  cache_policy_optimized               = "658327ea-f89d-4fab-a63d-7e88639e58f6" # Managed-CachingOptimized
  origin_request_policy_all_and_viewer = "33f36d7e-f396-46d9-90e0-52428a34d9dc" # Managed-AllViewerAndCloudFrontHeaders-2022-06

  origin_id = "alb"

  # The header CloudFront adds to every request to the ALB, and the ALB's listener rule checks.
  origin_header = "X-Easel-Origin-Verify"
  # Sensitive, so that plans and deploy logs show it redacted.
  origin_secret = sensitive(terraform_data.origin_secret.output)

  # The origin the browser sees.
  url = var.domain_name != null ? "https://${var.domain_name}" : "https://${aws_cloudfront_distribution.this.domain_name}"
}

# Two random UUIDs (244 random bits), drawn at the first apply and kept: uuid()
# is new at every plan, which the resource ignores. Unlike a random-password
# data source, whose id is the password itself, nothing here shows the value in
# a plan or a deploy log. It lives in the Terraform state, the distribution's
# origin and the listener rule, nowhere else.
resource "terraform_data" "origin_secret" {
  input = sensitive("${uuid()}${uuid()}")

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_cloudfront_distribution" "this" {
  #checkov:skip=CKV_AWS_68:No WAF: a web ACL costs $5/month plus rules and requests; sign-in guards the studio and the app caps its Bedrock budget.
  #checkov:skip=CKV2_AWS_47:No WAF (see CKV_AWS_68).
  #checkov:skip=CKV_AWS_86:Access logs need a log bucket and cost per GB; the app logs every request to CloudWatch already.
  #checkov:skip=CKV_AWS_310:One origin: a failover group needs a second stack.
  #checkov:skip=CKV_AWS_374:Who may reach the studio is a list of CIDRs the app checks (EASEL_ALLOWED_VIEWER_CIDRS), not a list of countries.
  #checkov:skip=CKV_AWS_305:The app serves / itself; there is no default object.
  #checkov:skip=CKV2_AWS_32:The app sets its own security headers (HSTS among them) from EASEL_PUBLIC_URL.
  #checkov:skip=CKV2_AWS_42:Without domain_name the distribution has only CloudFront's default certificate; with it, certificate_arn.
  #checkov:skip=CKV_AWS_174:With CloudFront's default certificate the minimum protocol version is CloudFront's to set; with certificate_arn it is TLSv1.2_2021.
  comment         = "Easel ${var.name}"
  enabled         = true
  is_ipv6_enabled = true
  http_version    = "http2and3"
  price_class     = var.cloudfront_price_class
  aliases         = var.domain_name != null ? [var.domain_name] : []

  origin {
    origin_id   = local.origin_id
    domain_name = aws_lb.this.dns_name

    custom_origin_config {
      http_port              = 80
      https_port             = 443
      origin_protocol_policy = "http-only"
      origin_ssl_protocols   = ["TLSv1.2"]
      # CloudFront's default; the job stream sends a comment well inside it.
      origin_read_timeout = 30
    }

    custom_header {
      name  = local.origin_header
      value = local.origin_secret
    }
  }

  default_cache_behavior {
    target_origin_id         = local.origin_id
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD", "OPTIONS", "PUT", "POST", "PATCH", "DELETE"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = local.cache_policy_disabled
    origin_request_policy_id = local.origin_request_policy_all_and_viewer
    compress                 = true
  }

  # The app's own stylesheet and script: the same for everyone.
  ordered_cache_behavior {
    path_pattern             = "/assets/*"
    target_origin_id         = local.origin_id
    viewer_protocol_policy   = "redirect-to-https"
    allowed_methods          = ["GET", "HEAD"]
    cached_methods           = ["GET", "HEAD"]
    cache_policy_id          = local.cache_policy_optimized
    origin_request_policy_id = local.origin_request_policy_all_and_viewer
    compress                 = true
  }

  restrictions {
    geo_restriction {
      restriction_type = "none"
    }
  }

  viewer_certificate {
    cloudfront_default_certificate = var.certificate_arn == null
    acm_certificate_arn            = var.certificate_arn
    ssl_support_method             = var.certificate_arn != null ? "sni-only" : null
    minimum_protocol_version       = var.certificate_arn != null ? "TLSv1.2_2021" : "TLSv1"
  }

  tags = { Name = var.name }

  # The cache policies replace forwarded_values, which AWS refuses beside them;
  # an emulator that reports an empty one back causes no update.
  lifecycle {
    ignore_changes = [default_cache_behavior[0].forwarded_values, ordered_cache_behavior[0].forwarded_values]
  }
}
