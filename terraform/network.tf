################################################################################
# Network
#
# Choice: one VPC over two availability zones with public subnets only, and no
# NAT gateway. The ALB lives in the public subnets, and so do the Fargate tasks,
# which get public IPs so they can reach ECR, CloudWatch Logs, S3 and Bedrock
# directly through the internet gateway.
#
# Security: a public IP does not make a task reachable. The tasks' security
# group admits only the ALB's security group, on the container port; nothing
# else can open a connection to a task. Tasks may open connections out on 443
# only. The default security group of the VPC is emptied.
#
# Cost: an internet gateway and public IPv4 addresses instead of NAT. A NAT
# gateway costs about $0.045/h (~$33/month) per AZ plus $0.045/GB processed;
# a public IPv4 address costs $0.005/h (~$3.65/month) per task. The VPC,
# subnets, route tables and internet gateway are free.
#
# For private tasks, move them to private subnets and add a NAT gateway or VPC
# endpoints (ECR api+dkr, logs, bedrock-runtime, S3 gateway; ~$7-8/month per
# interface endpoint per AZ).
################################################################################

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two names (in sorted order) are used, so a zone AWS adds later does not change them; set availability_zones to pin the zones by name.
  state = "available"

  # Local Zones and Wavelength Zones cannot host an ALB.
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

locals {
  azs = var.availability_zones != null ? var.availability_zones : slice(sort(data.aws_availability_zones.available.names), 0, 2)
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:VPC flow logs cost per GB ingested; a small demo stack relies on ALB, ECS and application logs instead.
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = { Name = var.name }
}

# The VPC's default security group allows all traffic between its members;
# taking it over with no rules leaves it unused and closed.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${var.name}-default-closed" }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = var.name }
}

resource "aws_subnet" "public" {
  count = length(local.azs)

  vpc_id            = aws_vpc.this.id
  availability_zone = local.azs[count.index]
  cidr_block        = cidrsubnet(var.vpc_cidr, 24 - tonumber(split("/", var.vpc_cidr)[1]), count.index)

  # Tasks ask for a public IP in the service's network configuration;
  # nothing else launched here gets one by default.
  map_public_ip_on_launch = false

  tags = { Name = "${var.name}-public-${local.azs[count.index]}" }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${var.name}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = length(local.azs)

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

################################################################################
# Security groups
################################################################################

resource "aws_security_group" "alb" {
  name = "${var.name}-alb"
  # Worded before CloudFront came in front (the "allowed CIDRs" are now
  # CloudFront's): a new description would replace the group under a running ALB.
  description = "Easel load balancer: HTTP/HTTPS in from allowed CIDRs, container port out to the tasks"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-alb" }
}

# Rules are separate resources so the two groups can reference each other.
# aws_security_group_rule round-trips every rule's description on AWS and on
# the local emulator alike, so a second apply finds nothing to change.

# CloudFront's addresses towards origins, as AWS keeps them up to date. Other
# addresses cannot open a connection to the ALB at all.
data "aws_ec2_managed_prefix_list" "cloudfront" {
  name = "com.amazonaws.global.cloudfront.origin-facing"
}

resource "aws_security_group_rule" "alb_http" {
  type              = "ingress"
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from CloudFront only"
  protocol          = "tcp"
  from_port         = 80
  to_port           = 80
  prefix_list_ids   = [data.aws_ec2_managed_prefix_list.cloudfront.id]
}

resource "aws_security_group_rule" "alb_to_tasks" {
  type                     = "egress"
  security_group_id        = aws_security_group.alb.id
  description              = "Container port on the tasks"
  protocol                 = "tcp"
  from_port                = local.container_port
  to_port                  = local.container_port
  source_security_group_id = aws_security_group.tasks.id
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "Easel tasks: container port in from the ALB only, HTTPS out to AWS APIs"
  vpc_id      = aws_vpc.this.id

  tags = { Name = "${var.name}-tasks" }
}

resource "aws_security_group_rule" "tasks_from_alb" {
  type                     = "ingress"
  security_group_id        = aws_security_group.tasks.id
  description              = "Container port from the ALB"
  protocol                 = "tcp"
  from_port                = local.container_port
  to_port                  = local.container_port
  source_security_group_id = aws_security_group.alb.id
}

# ECR, CloudWatch Logs, S3 and Bedrock are public HTTPS endpoints with no fixed
# address ranges, so HTTPS egress is open; DNS to the VPC resolver is not
# subject to security groups.
resource "aws_security_group_rule" "tasks_https" {
  type              = "egress"
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (ECR, Logs, S3, Bedrock)"
  protocol          = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_blocks       = ["0.0.0.0/0"]
}
