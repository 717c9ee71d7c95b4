data "aws_caller_identity" "current" {}

locals {
  # IAM is global: the region in the name lets the same stack run in several regions of an account.
  role_name = "${var.name}-${var.region}"
}

resource "aws_iam_role" "this" {
  name        = local.role_name
  description = "Lets EventBridge Scheduler run the schedule ${var.name}."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.role_name) <= 64
      error_message = "The role name ${local.role_name} is longer than IAM's 64 characters: shorten the schedule name."
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name = "${var.name}-invoke"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "InvokeTheFunction"
          Effect   = "Allow"
          Action   = "lambda:InvokeFunction"
          Resource = [var.function_arn, "${var.function_arn}:*"]
        },
        {
          Sid      = "SendUndeliveredRuns"
          Effect   = "Allow"
          Action   = "sqs:SendMessage"
          Resource = var.dead_letter_queue_arn
        },
      ],
      var.kms_key_arn == null ? [] : [{
        Sid      = "EncryptWithTheKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
      }],
    )
  })
}

resource "aws_scheduler_schedule" "this" {
  name                         = var.name
  description                  = "Runs ${split(":", var.function_arn)[6]} (${var.schedule_expression}, ${var.schedule_timezone})."
  schedule_expression          = var.schedule_expression
  schedule_expression_timezone = var.schedule_timezone
  state                        = var.enabled ? "ENABLED" : "DISABLED"
  kms_key_arn                  = var.kms_key_arn

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.function_arn
    role_arn = aws_iam_role.this.arn
    input    = var.input

    retry_policy {
      maximum_retry_attempts       = var.maximum_retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    }

    dead_letter_config {
      arn = var.dead_letter_queue_arn
    }
  }

  depends_on = [aws_iam_role_policy.this]
}
