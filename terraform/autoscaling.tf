################################################################################
# Autoscaling: target tracking on the requests each task receives per minute
# (ALBRequestCountPerTarget), between min_count and max_count. With
# enable_autoscaling = false the service keeps desired_count tasks.
#
# Not CPU: a task spends a job waiting on Bedrock, so its CPU stays low however
# many jobs are queued. The requests the ALB forwards (new jobs, job pages,
# gallery) grow with the number of people using the studio. Scaling in is safe:
# queued jobs are persisted in the S3 store, and a stopped task lets its running
# Bedrock calls finish first (EASEL_SHUTDOWN_GRACE_SECS, see ecs.tf).
################################################################################

resource "aws_appautoscaling_target" "app" {
  count = var.enable_autoscaling ? 1 : 0

  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.app.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_count
  max_capacity       = var.max_count

  tags = { Name = "${var.name}-scaling" }

  # Deleting the ECS service deletes its scalable target and policies, which
  # Terraform would not notice: when the service is replaced, so are they.
  lifecycle {
    replace_triggered_by = [aws_ecs_service.app.id]
  }
}

resource "aws_appautoscaling_policy" "requests" {
  count = var.enable_autoscaling ? 1 : 0

  name               = "${var.name}-requests-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.app[0].service_namespace
  resource_id        = aws_appautoscaling_target.app[0].resource_id
  scalable_dimension = aws_appautoscaling_target.app[0].scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.requests_per_task_per_minute
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    predefined_metric_specification {
      predefined_metric_type = "ALBRequestCountPerTarget"
      # app/<alb-name>/<id>/targetgroup/<tg-name>/<id>
      resource_label = "${aws_lb.this.arn_suffix}/${aws_lb_target_group.app.arn_suffix}"
    }
  }

  lifecycle {
    replace_triggered_by = [aws_appautoscaling_target.app[count.index].arn]
  }
}
