resource "aws_ecr_repository" "app" {
  #checkov:skip=CKV_AWS_136:ECR encrypts images at rest with AES-256 by default; a customer-managed KMS key adds cost and a key policy for no gain here.
  name                 = var.name
  image_tag_mutability = "IMMUTABLE" # a tag is a git commit: it always names the same image

  # destroy removes the repository with its images: they are rebuilt from source.
  force_delete = true

  image_scanning_configuration {
    scan_on_push = true
  }

  tags = { Name = var.name }
}

resource "aws_ecr_lifecycle_policy" "app" {
  repository = aws_ecr_repository.app.name

  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Keep the last ${var.ecr_keep_images} images"
      selection = {
        tagStatus   = "any"
        countType   = "imageCountMoreThan"
        countNumber = var.ecr_keep_images
      }
      action = { type = "expire" }
    }]
  })
}
