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

locals {
  # The stack's own settings win over var.environment. Behind HTTPS the cookie is sent
  # over HTTPS only.
  container_environment = merge(
    var.environment,
    local.https ? { EASEL_SECURE_COOKIE = "true" } : {},
    {
      EASEL_LISTEN         = "0.0.0.0:${local.container_port}"
      EASEL_STORAGE        = "s3://${aws_s3_bucket.gallery.id}/${local.gallery_prefix}"
      EASEL_BEDROCK_REGION = var.bedrock_region
      AWS_REGION           = local.region
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
    # SIGTERM first; in-flight generations get EASEL_SHUTDOWN_GRACE_SECS (30 s by default).
    stopTimeout = 40

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.app.name
        awslogs-region        = local.region
        awslogs-stream-prefix = local.container_name
      }
    }
  }])

  tags = { Name = var.name }
}

resource "aws_ecs_service" "app" {
  #checkov:skip=CKV_AWS_333:Tasks get public IPs to reach AWS APIs without a NAT gateway (see network.tf); their security group admits only the ALB.
  name                  = var.name
  cluster               = aws_ecs_cluster.this.id
  task_definition       = aws_ecs_task_definition.app.arn
  desired_count         = var.desired_count
  launch_type           = "FARGATE"
  platform_version      = "LATEST"
  wait_for_steady_state = var.wait_for_steady_state

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
  depends_on = [aws_lb_listener.http, aws_lb_listener.https]

  tags = { Name = var.name }
}
