data "aws_caller_identity" "current" {}

locals {
  # IAM is global: the region in the name lets the same stack run in several regions of an account.
  role_name = "${var.name}-${var.region}"

  failure_destination = try(var.async_invoke.on_failure_destination_arn, null)
  destination_actions = {
    sqs    = ["sqs:SendMessage"]
    sns    = ["sns:Publish"]
    lambda = ["lambda:InvokeFunction"]
    events = ["events:PutEvents"]
  }

  statements = concat(
    [{
      sid       = "WriteOwnLogs"
      actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      resources = ["${aws_cloudwatch_log_group.this.arn}:*"]
    }],
    var.policy_statements,
    local.failure_destination == null ? [] : [{
      sid       = "SendFailedEvents"
      actions   = local.destination_actions[split(":", local.failure_destination)[2]]
      resources = [local.failure_destination]
    }],
  )
}

resource "aws_iam_role" "this" {
  name        = local.role_name
  description = "Execution role of the ${var.name} Lambda function in ${var.region}."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
    }]
  })
  tags = var.tags

  lifecycle {
    precondition {
      condition     = length(local.role_name) <= 64
      error_message = "The role name ${local.role_name} is longer than IAM's 64 characters: shorten the function name."
    }
  }
}

resource "aws_iam_role_policy" "this" {
  name = "${var.name}-permissions"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [for s in local.statements : {
      Sid      = s.sid
      Effect   = "Allow"
      Action   = s.actions
      Resource = s.resources
    }]
  })
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/lambda/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  # checkov:skip=CKV_AWS_116:Asynchronous failures go to the on-failure destination of async_invoke, which supersedes a DLQ.
  # checkov:skip=CKV_AWS_117:The functions reach only public AWS APIs and the partner's public HTTPS API; a VPC would add NAT cost and nothing to protect.
  # checkov:skip=CKV_AWS_272:The zips are reproducible and pinned by source_code_hash; the project has no signing profile to validate against.
  function_name                  = var.name
  description                    = var.description
  role                           = aws_iam_role.this.arn
  filename                       = var.zip_path
  source_code_hash               = filebase64sha256(var.zip_path)
  handler                        = var.handler
  runtime                        = var.runtime
  architectures                  = [var.architecture]
  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = coalesce(var.reserved_concurrent_executions, -1)
  kms_key_arn                    = var.kms_key_arn # Encrypts the environment (names, no secrets) at rest.
  tags                           = var.tags

  ephemeral_storage {
    size = var.ephemeral_storage_mb
  }

  dynamic "environment" {
    for_each = length(var.environment_variables) > 0 ? [var.environment_variables] : []
    content {
      variables = environment.value
    }
  }

  logging_config {
    # The handlers print one JSON object per line themselves; Text passes those lines as they are.
    log_format = "Text"
    log_group  = aws_cloudwatch_log_group.this.name
  }

  tracing_config {
    mode = var.tracing_mode
  }

  lifecycle {
    precondition {
      condition     = var.package_architecture == null || var.package_architecture == var.architecture
      error_message = "The zip was built for ${coalesce(var.package_architecture, "?")} but the function is ${var.architecture}: run `make package ARCH=${var.architecture}`."
    }
  }

  # The role must be able to write logs (and more) before the first invocation.
  depends_on = [aws_iam_role_policy.this]
}

resource "aws_lambda_function_event_invoke_config" "this" {
  count = var.async_invoke == null ? 0 : 1

  function_name                = aws_lambda_function.this.function_name
  maximum_retry_attempts       = var.async_invoke.maximum_retry_attempts
  maximum_event_age_in_seconds = var.async_invoke.maximum_event_age_in_seconds

  dynamic "destination_config" {
    for_each = local.failure_destination == null ? [] : [local.failure_destination]
    content {
      on_failure {
        destination = destination_config.value
      }
    }
  }

  depends_on = [aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  count = var.errors_alarm == null ? 0 : 1

  alarm_name          = "${var.name}-errors"
  alarm_description   = "The ${var.name} Lambda function reported errors: see its log group ${aws_cloudwatch_log_group.this.name}."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = aws_lambda_function.this.function_name }
  statistic           = "Sum"
  period              = var.errors_alarm.period_seconds
  evaluation_periods  = 1
  threshold           = var.errors_alarm.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.errors_alarm.alarm_actions
  ok_actions          = var.errors_alarm.alarm_actions
  tags                = var.tags
}
