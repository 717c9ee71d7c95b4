data "aws_caller_identity" "current" {}

resource "aws_sqs_queue" "dead_letter" {
  name                      = "${var.name}-dlq"
  message_retention_seconds = 1209600 # 14 days, the most SQS keeps.
  sqs_managed_sse_enabled   = var.kms_key_arn == null ? true : null
  kms_master_key_id         = var.kms_key_arn
  tags                      = var.tags
}

resource "aws_iam_role" "scheduler" {
  name        = "${var.name}-scheduler"
  description = "Lets EventBridge Scheduler run ${var.name}."
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
}

resource "aws_iam_role_policy" "scheduler" {
  name = "${var.name}-invoke"
  role = aws_iam_role.scheduler.id
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
          Resource = aws_sqs_queue.dead_letter.arn
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
    role_arn = aws_iam_role.scheduler.arn
    input    = var.input

    retry_policy {
      maximum_retry_attempts       = var.maximum_retry_attempts
      maximum_event_age_in_seconds = var.maximum_event_age_in_seconds
    }

    dead_letter_config {
      arn = aws_sqs_queue.dead_letter.arn
    }
  }

  depends_on = [aws_iam_role_policy.scheduler]
}
