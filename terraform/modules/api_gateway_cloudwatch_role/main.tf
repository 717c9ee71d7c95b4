data "aws_partition" "current" {}

locals {
  # IAM is global: the region in the name lets the same stack run in several regions of an account.
  role_name = "${var.name}-${var.region}"
}

resource "aws_iam_role" "this" {
  name        = local.role_name
  description = "Lets API Gateway write execution and access logs in ${var.region}."
  # As AWS documents this role: API Gateway as the trusted entity, no condition. Nothing in AWS's
  # documentation says API Gateway sends aws:SourceAccount when it assumes it; a condition on a key
  # it may not send would leave the stage unable to log.
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "apigateway.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.role_name) <= 64
      error_message = "The role name ${local.role_name} is longer than IAM's 64 characters: shorten the name."
    }
  }
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"
}

# One setting per account and region, shared by every REST API there.
resource "aws_api_gateway_account" "this" {
  cloudwatch_role_arn = aws_iam_role.this.arn

  depends_on = [aws_iam_role_policy_attachment.this]
}
