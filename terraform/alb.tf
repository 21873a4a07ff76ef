################################################################################
# Application load balancer
#
# Behind CloudFront (cloudfront.tf): HTTP on 80, from CloudFront only, forwards
# to the tasks when the origin secret is there and answers 403 otherwise.
################################################################################

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs need a log bucket and cost per GB; the app logs every request to CloudWatch already.
  #checkov:skip=CKV_AWS_150:Deletion protection would stop the one-command destroy that the stack is built for.
  #checkov:skip=CKV2_AWS_28:No WAF: a web ACL costs $5/month plus rules and requests; only CloudFront reaches the ALB, and sign-in guards the studio.
  #checkov:skip=CKV2_AWS_20:Browsers are redirected to HTTPS by CloudFront; the ALB takes HTTP from CloudFront only.
  name               = var.name
  load_balancer_type = "application"
  internal           = false
  subnets            = aws_subnet.public[*].id
  security_groups    = [aws_security_group.alb.id]

  drop_invalid_header_fields = true
  enable_deletion_protection = false
  idle_timeout               = 150 # longer than a Bedrock call may take (EASEL_BEDROCK_TIMEOUT_SECS, 120 s)

  tags = { Name = var.name }
}

resource "aws_lb_target_group" "app" {
  #checkov:skip=CKV_AWS_378:TLS ends at CloudFront; the hop to the tasks stays inside the VPC, and the tasks' security group admits only the ALB.
  name        = "${var.name}-tasks"
  target_type = "ip"
  protocol    = "HTTP"
  port        = local.container_port
  vpc_id      = aws_vpc.this.id

  deregistration_delay = 30

  health_check {
    path                = "/healthz"
    matcher             = "200"
    protocol            = "HTTP"
    port                = "traffic-port"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  tags = { Name = "${var.name}-tasks" }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Only CloudFront reaches the ALB (its prefix list and the origin secret); browsers get HTTPS from CloudFront.
  #checkov:skip=CKV_AWS_103:TLS ends at CloudFront; this listener is HTTP.
  #checkov:skip=CKV2_AWS_20:Browsers are redirected to HTTPS by CloudFront (viewer_protocol_policy).
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  # Whatever does not come through this stack's distribution.
  default_action {
    type = "fixed-response"

    fixed_response {
      content_type = "text/plain"
      message_body = "Forbidden"
      status_code  = "403"
    }
  }

  tags = { Name = "${var.name}-http" }
}

# Only requests carrying the distribution's origin secret reach the tasks.
resource "aws_lb_listener_rule" "from_cloudfront" {
  listener_arn = aws_lb_listener.http.arn
  priority     = 1

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }

  condition {
    http_header {
      http_header_name = local.origin_header
      values           = [local.origin_secret]
    }
  }

  tags = { Name = "${var.name}-from-cloudfront" }
}
