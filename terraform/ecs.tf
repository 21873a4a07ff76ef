################################################################################
# ECS cluster, task definition and service
################################################################################

resource "aws_ecs_cluster" "this" {
  #checkov:skip=CKV_AWS_65:Container Insights is billed as custom metrics; off by default, on with container_insights = true. Service CPU and memory metrics stay free.
  name = var.name

  setting {
    name  = "containerInsights"
    value = var.container_insights ? "enabled" : "disabled"
  }

  tags = { Name = var.name }
}

# Both Fargate capacity providers are available to the cluster; the service
# picks one (use_fargate_spot).
resource "aws_ecs_cluster_capacity_providers" "this" {
  cluster_name       = aws_ecs_cluster.this.name
  capacity_providers = ["FARGATE", "FARGATE_SPOT"]

  default_capacity_provider_strategy {
    capacity_provider = local.capacity_provider
    weight            = 1
  }
}

locals {
  capacity_provider = var.use_fargate_spot ? "FARGATE_SPOT" : "FARGATE"

  # ECS sends SIGTERM, then SIGKILL after stop_timeout seconds (120 is Fargate's
  # maximum, and the warning a Spot interruption gives). Easel stops taking jobs
  # and lets running Bedrock calls finish within the grace, which leaves time to
  # close the store and flush the logs.
  stop_timeout_secs   = 120
  shutdown_grace_secs = 100

  # The stack's own settings win over var.environment. EASEL_PUBLIC_URL is
  # https (CloudFront), which makes the app's cookie HTTPS-only. Nothing outside the task reaches the metrics port: no ALB listener forwards
  # to it, and the tasks' security group admits only the ALB, on the app port
  # (network.tf).
  container_environment = merge(
    var.environment,
    local.auth_environment,
    length(var.allowed_ingress_cidrs) > 0 ? { EASEL_ALLOWED_VIEWER_CIDRS = join(",", var.allowed_ingress_cidrs) } : {},
    {
      EASEL_PUBLIC_URL          = local.url
      EASEL_LISTEN              = "0.0.0.0:${local.container_port}"
      EASEL_STORAGE             = "s3://${aws_s3_bucket.gallery.id}/${local.gallery_prefix}"
      EASEL_BEDROCK_REGION      = var.bedrock_region
      EASEL_BUDGET_DAILY_USD    = tostring(var.budget_daily_usd)
      EASEL_BUDGET_MONTHLY_USD  = tostring(var.budget_monthly_usd)
      EASEL_METRICS_LISTEN      = "0.0.0.0:${local.metrics_port}"
      EASEL_SHUTDOWN_GRACE_SECS = tostring(local.shutdown_grace_secs)
      AWS_REGION                = local.region
      # Not the key: a new generation makes a new task definition, so the tasks
      # restart and read the rotated secret.
      COOKIE_KEY_GENERATION = tostring(var.cookie_key_rotation)
    },
  )
}

resource "aws_ecs_task_definition" "app" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  container_definitions = jsonencode([{
    name      = local.container_name
    image     = local.image
    essential = true

    portMappings = [{
      name          = "http"
      containerPort = local.container_port
      protocol      = "tcp"
    }]

    environment = [for k in sort(keys(local.container_environment)) : {
      name  = k
      value = local.container_environment[k]
    }]

    # Read by ECS (the execution role) from Secrets Manager when a task starts.
    secrets = [for k in sort(keys(local.container_secrets)) : {
      name      = k
      valueFrom = local.container_secrets[k]
    }]

    # The image has no shell: the probe is a subcommand of the binary.
    healthCheck = {
      command     = ["CMD", "/easel", "healthcheck"]
      interval    = 15
      timeout     = 5
      retries     = 3
      startPeriod = 10
    }

    # Images go to S3, so the container writes nothing to its filesystem.
    readonlyRootFilesystem = true
    # SIGTERM first; running Bedrock calls get EASEL_SHUTDOWN_GRACE_SECS, then SIGKILL.
    stopTimeout = local.stop_timeout_secs

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = local.region
        awslogs-stream-prefix = local.container_name
      }
    }
  }])

  # The secrets must hold their values before a task reads them.
  depends_on = [aws_secretsmanager_secret_version.cookie_key, aws_ssm_parameter.oidc_client_secret]

  tags = { Name = var.name }
}

resource "aws_ecs_service" "app" {
  #checkov:skip=CKV_AWS_333:Tasks get public IPs to reach AWS APIs without a NAT gateway (see network.tf); their security group admits only the ALB.
  name                  = var.name
  cluster               = aws_ecs_cluster.this.id
  task_definition       = aws_ecs_task_definition.app.arn
  desired_count         = var.desired_count
  platform_version      = "LATEST"
  wait_for_steady_state = var.wait_for_steady_state

  # Fargate Spot or regular Fargate through a capacity provider strategy, not a
  # launch type. Switching use_fargate_spot then rolls the tasks over to the
  # other provider in place (Terraform updates a strategy in place only with
  # force_new_deployment; a change between a launch type and a strategy would
  # replace the service). The FARGATE launch type is only for emulators that do
  # not keep a service's strategy (use_capacity_providers = false).
  launch_type = var.use_capacity_providers ? null : "FARGATE"

  dynamic "capacity_provider_strategy" {
    for_each = var.use_capacity_providers ? [local.capacity_provider] : []
    content {
      capacity_provider = capacity_provider_strategy.value
      weight            = 1
    }
  }
  force_new_deployment = true

  # No health check grace period: the app answers /healthz as soon as it listens.
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  network_configuration {
    subnets          = aws_subnet.public[*].id
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = true
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.app.arn
    container_name   = local.container_name
    container_port   = local.container_port
  }

  propagate_tags = "SERVICE"

  lifecycle {
    ignore_changes = [
      desired_count,                 # autoscaling owns the task count after the first apply
      availability_zone_rebalancing, # left to ECS's default; not every ECS API (or emulator) reports it
    ]
  }

  # The target group must be attached to the ALB before the service uses it.
  # The capacity providers must be on the cluster before the service uses one.
  depends_on = [aws_lb_listener_rule.from_cloudfront, aws_ecs_cluster_capacity_providers.this]

  tags = { Name = var.name }
}
