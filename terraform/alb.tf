################################################################################
# Application load balancer
#
# Without certificate_arn: HTTP on 80 forwards to the tasks.
# With certificate_arn: HTTPS on 443 forwards to the tasks, HTTP on 80 redirects.
################################################################################

resource "aws_lb" "this" {
  #checkov:skip=CKV_AWS_91:Access logs need a log bucket and cost per GB; the app logs every request to CloudWatch already.
  #checkov:skip=CKV_AWS_150:Deletion protection would stop the one-command destroy that the stack is built for.
  #checkov:skip=CKV2_AWS_28:No WAF: a web ACL costs $5/month plus rules and requests; the app rate-limits per client and caps its Bedrock budget.
  #checkov:skip=CKV2_AWS_20:HTTP is redirected to HTTPS whenever certificate_arn is set; without a certificate HTTP is the only listener.
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
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; the hop to the tasks stays inside the VPC, and the tasks' security group admits only the ALB.
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
  #checkov:skip=CKV_AWS_2:Port 80 serves plain HTTP only when no certificate_arn is given; with one it redirects to HTTPS.
  #checkov:skip=CKV_AWS_103:TLS policy applies to the HTTPS listener; this one is HTTP.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type             = local.https ? "redirect" : "forward"
    target_group_arn = local.https ? null : aws_lb_target_group.app.arn

    dynamic "redirect" {
      for_each = local.https ? [1] : []
      content {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  tags = { Name = "${var.name}-http" }
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }

  tags = { Name = "${var.name}-https" }
}
