################################################################################
# Naming and placement
################################################################################

variable "name" {
  description = "Name of the stack; prefixes every resource name (ALB, cluster, service, repository, bucket)."
  type        = string
  default     = "easel"
  nullable    = false

  validation {
    # ALB and target group names allow 32 characters; the longest suffix used is "-tasks".
    condition     = can(regex("^[a-z][a-z0-9-]{0,18}[a-z0-9]$", var.name))
    error_message = "name must be 2 to 20 characters: lowercase letters, digits and hyphens, starting with a letter and not ending with a hyphen."
  }
}

variable "region" {
  description = "AWS region to deploy into. null uses the environment (AWS_REGION, AWS_DEFAULT_REGION or the profile)."
  type        = string
  default     = null
}

variable "allowed_account_ids" {
  description = "AWS account ids this stack may be deployed to. Terraform refuses any other account before it reads or changes anything. null allows any account (the xtask still refuses an account other than the one in the state)."
  type        = list(string)
  default     = null

  validation {
    condition     = var.allowed_account_ids == null || try(length(var.allowed_account_ids) >= 1 && alltrue([for a in var.allowed_account_ids : can(regex("^[0-9]{12}$", a))]), false)
    error_message = "allowed_account_ids must list 12-digit AWS account ids."
  }
}

variable "tags" {
  description = "Extra tags for every resource, merged over the stack's own tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

################################################################################
# Image
################################################################################

variable "image_tag" {
  description = "Tag of the container image to run (the git commit the image was built from)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a non-empty Docker tag: up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-'."
  }
}

variable "image_repository_url" {
  description = "Repository to pull the image from, without tag. null uses the ECR repository this stack creates. The execution role can pull only from that ECR repository; another registry must be public."
  type        = string
  default     = null

  validation {
    condition     = var.image_repository_url == null || can(regex("^[^:@[:space:]]+(:[0-9]+)?(/[^:@[:space:]]+)+$", var.image_repository_url))
    error_message = "image_repository_url must look like host[:port]/path, without a tag or digest."
  }
}

variable "ecr_keep_images" {
  description = "How many images the ECR lifecycle policy keeps; older ones expire."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.ecr_keep_images >= 1 && floor(var.ecr_keep_images) == var.ecr_keep_images
    error_message = "ecr_keep_images must be a whole number >= 1."
  }
}

################################################################################
# Compute
################################################################################

variable "cpu" {
  description = "Fargate task CPU units (256 = 0.25 vCPU)."
  type        = number
  default     = 256
  nullable    = false

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.cpu)
    error_message = "cpu must be one of the Fargate sizes 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "memory" {
  description = "Fargate task memory in MiB; must be a valid pair with cpu (256: 512-2048; 512: 1024-4096; 1024: 2048-8192; 2048: 4096-16384; 4096: 8192-30720, in 1024 steps; 8192: 16384-61440 in 4096 steps; 16384: 32768-122880 in 8192 steps)."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition = (
      var.cpu == 256 ? contains([512, 1024, 2048], var.memory) :
      var.cpu == 512 ? var.memory >= 1024 && var.memory <= 4096 && var.memory % 1024 == 0 :
      var.cpu == 1024 ? var.memory >= 2048 && var.memory <= 8192 && var.memory % 1024 == 0 :
      var.cpu == 2048 ? var.memory >= 4096 && var.memory <= 16384 && var.memory % 1024 == 0 :
      var.cpu == 4096 ? var.memory >= 8192 && var.memory <= 30720 && var.memory % 1024 == 0 :
      var.cpu == 8192 ? var.memory >= 16384 && var.memory <= 61440 && var.memory % 4096 == 0 :
      var.cpu == 16384 ? var.memory >= 32768 && var.memory <= 122880 && var.memory % 8192 == 0 :
      false
    )
    error_message = "memory is not a valid Fargate size for this cpu; see the variable's description for the allowed pairs."
  }
}

variable "cpu_architecture" {
  description = "CPU architecture of the task: X86_64, or ARM64 (Graviton, about 20% cheaper; needs an arm64 image)."
  type        = string
  default     = "X86_64"
  nullable    = false

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "cpu_architecture must be X86_64 or ARM64."
  }
}

variable "desired_count" {
  description = "Number of tasks the service starts with. Autoscaling owns the count afterwards (Terraform ignores later changes)."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.desired_count >= var.min_count && var.desired_count <= var.max_count && floor(var.desired_count) == var.desired_count
    error_message = "desired_count must be a whole number between min_count and max_count."
  }
}

variable "enable_autoscaling" {
  description = "Scale the service between min_count and max_count on the requests each task receives. false keeps desired_count tasks (and suits emulators without the Application Auto Scaling tagging API)."
  type        = bool
  default     = true
  nullable    = false
}

variable "min_count" {
  description = "Fewest tasks autoscaling keeps running."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.min_count >= 1 && floor(var.min_count) == var.min_count
    error_message = "min_count must be a whole number >= 1."
  }
}

variable "max_count" {
  description = "Most tasks autoscaling may run."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.max_count >= var.min_count && floor(var.max_count) == var.max_count
    error_message = "max_count must be a whole number >= min_count."
  }
}

variable "requests_per_task_per_minute" {
  description = "Requests per task per minute (ALBRequestCountPerTarget) that target tracking keeps the service at. Tasks mostly wait on Bedrock, so requests, not CPU, show the load."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.requests_per_task_per_minute >= 10 && var.requests_per_task_per_minute <= 100000
    error_message = "requests_per_task_per_minute must be between 10 and 100000."
  }
}

variable "use_fargate_spot" {
  description = "Run the tasks on Fargate Spot (about 70% cheaper; a task may be stopped with a two-minute warning). false runs them on regular Fargate, for example when Spot capacity is short."
  type        = bool
  default     = true
  nullable    = false
}

variable "use_capacity_providers" {
  description = "Place the tasks through a capacity provider strategy (FARGATE_SPOT or FARGATE, as use_fargate_spot says). false uses the FARGATE launch type and ignores use_fargate_spot: only for emulators that do not keep a service's capacity provider strategy (moto)."
  type        = bool
  default     = true
  nullable    = false
}

variable "environment" {
  description = "Extra environment variables for the container (for example EASEL_* limits). The stack's own variables (EASEL_LISTEN, EASEL_STORAGE, EASEL_BEDROCK_REGION, EASEL_BUDGET_DAILY_USD, EASEL_BUDGET_MONTHLY_USD, EASEL_METRICS_LISTEN, EASEL_SHUTDOWN_GRACE_SECS, EASEL_PUBLIC_URL, EASEL_AUTH, EASEL_OIDC_*, EASEL_ADMINS, EASEL_ALLOWED_VIEWER_CIDRS, COOKIE_KEY_GENERATION, AWS_REGION) win over these; the cookie key and the client secret come from Secrets Manager and may not be set here."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition     = length([for k in keys(var.environment) : k if startswith(k, "EASEL_COOKIE_KEY") || startswith(k, "EASEL_OIDC_CLIENT_SECRET")]) == 0
    error_message = "environment must not set EASEL_COOKIE_KEY, EASEL_COOKIE_KEY_PREVIOUS or EASEL_OIDC_CLIENT_SECRET: the stack passes them from Secrets Manager (see secrets.tf and auth.tf)."
  }
}

variable "container_insights" {
  description = "Turn on CloudWatch Container Insights for the cluster (billed as custom metrics)."
  type        = bool
  default     = false
  nullable    = false
}

variable "wait_for_steady_state" {
  description = "Make apply wait until the ECS service is stable (its tasks healthy behind the ALB)."
  type        = bool
  default     = true
  nullable    = false
}

################################################################################
# Network and load balancer
################################################################################

variable "vpc_cidr" {
  description = "CIDR block of the VPC; two /24 public subnets are cut from it."
  type        = string
  default     = "10.42.0.0/16"
  nullable    = false

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 22
    error_message = "vpc_cidr must be an IPv4 CIDR block of size /22 or larger."
  }
}

variable "availability_zones" {
  description = "Exactly two availability zone names for the subnets. null takes the first two available zones of the region."
  type        = list(string)
  default     = null

  validation {
    condition     = var.availability_zones == null || try(length(var.availability_zones) == 2 && length(distinct(var.availability_zones)) == 2, false)
    error_message = "availability_zones must name exactly two different zones."
  }
}

variable "allowed_ingress_cidrs" {
  description = "CIDR blocks (IPv4 or IPv6) of the viewers who may reach the studio, checked by the app on CloudFront's viewer address (EASEL_ALLOWED_VIEWER_CIDRS); anyone else gets a 403. Empty: anyone who can sign in."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for c in var.allowed_ingress_cidrs : can(cidrhost(c, 0))])
    error_message = "allowed_ingress_cidrs must hold CIDR blocks such as 203.0.113.0/24."
  }
}

variable "domain_name" {
  description = "A name of your own for the studio (e.g. studio.example.com), served by CloudFront with certificate_arn. null: the distribution's own https://<id>.cloudfront.net. Point the name at the output cloudfront_domain_name (CNAME or alias)."
  type        = string
  default     = null

  validation {
    condition     = var.domain_name == null || can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]{2,63}$", var.domain_name))
    error_message = "domain_name must be a lowercase DNS name such as studio.example.com."
  }
}

variable "certificate_arn" {
  description = "ACM certificate for domain_name, in us-east-1 (CloudFront takes certificates from there only, whatever the deploy region). Set both or neither."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate in us-east-1 (arn:aws:acm:us-east-1:ACCOUNT:certificate/...): CloudFront takes certificates from there only."
  }

  validation {
    condition     = (var.certificate_arn == null) == (var.domain_name == null)
    error_message = "Set domain_name and certificate_arn together, or neither."
  }
}

variable "cloudfront_price_class" {
  description = "CloudFront price class: the edge locations that serve the studio. PriceClass_100 (North America and Europe) is the cheapest; viewers elsewhere are served from the nearest of those."
  type        = string
  default     = "PriceClass_100"
  nullable    = false

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cloudfront_price_class)
    error_message = "cloudfront_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

################################################################################
# Sign-in
################################################################################

variable "auth" {
  description = "Who may use the studio: \"cognito\" (a Cognito user pool this stack creates; add people with `cargo xtask users add EMAIL`), \"oidc\" (your own OpenID Connect provider: oidc_issuer, oidc_client_id, oidc_client_secret) or \"none\" (no sign-in: everyone who can reach it)."
  type        = string
  default     = "cognito"
  nullable    = false

  validation {
    condition     = contains(["cognito", "oidc", "none"], var.auth)
    error_message = "auth must be \"cognito\", \"oidc\" or \"none\"."
  }
}

variable "oidc_issuer" {
  description = "With auth = \"oidc\": the provider's issuer URL (https), whose /.well-known/openid-configuration the app reads."
  type        = string
  default     = null

  validation {
    condition     = var.auth != "oidc" || can(regex("^https://[^[:space:]]+$", var.oidc_issuer))
    error_message = "With auth = \"oidc\", oidc_issuer must be the provider's https issuer URL."
  }
}

variable "oidc_client_id" {
  description = "With auth = \"oidc\": the client id the provider gave Easel. Register {url}/auth/callback as its redirect URI (the output url)."
  type        = string
  default     = null

  validation {
    condition     = var.auth != "oidc" || try(length(var.oidc_client_id) > 0, false)
    error_message = "With auth = \"oidc\", oidc_client_id must be set."
  }
}

variable "oidc_client_secret" {
  description = "With auth = \"oidc\": the client secret the provider gave Easel; stored in Secrets Manager for the task (EASEL_OIDC_CLIENT_SECRET). Pass it as TF_VAR_oidc_client_secret rather than in a file."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.auth != "oidc" || try(length(var.oidc_client_secret) > 0, false)
    error_message = "With auth = \"oidc\", oidc_client_secret must be set."
  }
}

variable "admins" {
  description = "E-mail addresses of the people who may open /admin (EASEL_ADMINS): the spend per day and per person, jobs in flight, the caps."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for a in var.admins : can(regex("^[^@,[:space:]]+@[^@,[:space:]]+$", a))])
    error_message = "admins must be e-mail addresses."
  }
}

################################################################################
# Bedrock
################################################################################

variable "bedrock_region" {
  description = "Region Easel calls Bedrock in; may differ from the deploy region."
  type        = string
  default     = "us-west-2"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-[a-z]+)+-[0-9]$", var.bedrock_region))
    error_message = "bedrock_region must be a region name such as us-west-2."
  }
}

################################################################################
# Jobs
################################################################################

variable "budget_daily_usd" {
  description = "Most USD one person (or, with auth = \"none\", one browser) may spend on Bedrock per UTC day (EASEL_BUDGET_DAILY_USD). 0 means no daily cap."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.budget_daily_usd >= 0
    error_message = "budget_daily_usd must be >= 0 (0 means no daily cap)."
  }
}

variable "budget_monthly_usd" {
  description = "Most USD the whole deployment may spend on Bedrock per calendar month, across all tasks (EASEL_BUDGET_MONTHLY_USD). 0 means no monthly cap."
  type        = number
  default     = 50
  nullable    = false

  validation {
    condition     = var.budget_monthly_usd >= 0
    error_message = "budget_monthly_usd must be >= 0 (0 means no monthly cap)."
  }
}

################################################################################
# Identity
################################################################################

variable "cookie_key_rotation" {
  description = "Generation of the cookie-signing key in Secrets Manager. Raise it by one to rotate the key: the tasks then sign with a new key and still accept the previous one (EASEL_COOKIE_KEY_PREVIOUS)."
  type        = number
  default     = 1
  nullable    = false

  validation {
    condition     = var.cookie_key_rotation >= 1 && floor(var.cookie_key_rotation) == var.cookie_key_rotation
    error_message = "cookie_key_rotation must be a whole number >= 1."
  }
}

################################################################################
# Storage and logs
################################################################################

variable "delete_images_on_destroy" {
  description = "Let destroy delete the gallery bucket with all user images in it (force_destroy). When false, destroy fails on a non-empty bucket unless the bucket is first removed from state (see README)."
  type        = bool
  default     = false
  nullable    = false
}

variable "noncurrent_image_days" {
  description = "Days a deleted or overwritten gallery object stays recoverable (noncurrent version) before it expires."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.noncurrent_image_days >= 1 && floor(var.noncurrent_image_days) == var.noncurrent_image_days
    error_message = "noncurrent_image_days must be a whole number >= 1."
  }
}

variable "job_file_days" {
  description = "Days a job's files (its record and an edit's mask or style picture, under gallery/_easel/jobs/) are kept before they expire. Jobs take minutes; the gallery keeps their pictures."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.job_file_days >= 1 && floor(var.job_file_days) == var.job_file_days
    error_message = "job_file_days must be a whole number >= 1."
  }
}

variable "log_retention_days" {
  description = "Days CloudWatch keeps the container logs."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a value CloudWatch Logs accepts: 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}
