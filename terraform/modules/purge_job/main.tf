data "aws_partition" "current" {}

data "aws_caller_identity" "current" {}

locals {
  role_name = "${var.name}-${var.region}"
  # The definition is a JSON file, so that asl-validator and the local stack read the same one;
  # Terraform fills in the worker's ARN and sets the two numbers the variables choose.
  template = jsondecode(templatefile("${path.module}/state_machine.asl.json", {
    worker_function_arn = var.worker_function_arn
  }))
  definition = jsonencode(merge(local.template, {
    TimeoutSeconds = var.timeout_hours * 3600
    States = merge(local.template.States, {
      Lanes = merge(local.template.States.Lanes, { MaxConcurrency = var.max_concurrency })
    })
  }))
}

# Each purge's record and each bucket's lease (functions/purge_bucket/job/table.py).
resource "aws_dynamodb_table" "jobs" {
  name         = "${var.name}s"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "pk"
  tags         = var.tags

  attribute {
    name = "pk"
    type = "S"
  }

  # Finished records go JOB_RETENTION_DAYS after their end, expired leases a day after.
  ttl {
    attribute_name = "delete_after"
    enabled        = true
  }

  point_in_time_recovery {
    enabled = true
  }

  # checkov:skip=CKV_AWS_119:With kms_key_arn null the table uses DynamoDB's AWS owned key, as the rest of the stack uses AWS managed keys; a customer managed key is one variable away.
  server_side_encryption {
    enabled     = var.kms_key_arn != null
    kms_key_arn = var.kms_key_arn
  }
}

resource "aws_cloudwatch_log_group" "this" {
  name              = "/aws/vendedlogs/states/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = var.tags
}

resource "aws_iam_role" "this" {
  name        = local.role_name
  description = "Role of the ${var.name} state machine in ${var.region}: it invokes the purge worker."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current.account_id } }
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

resource "aws_iam_role_policy" "this" {
  name = "${var.name}-permissions"
  role = aws_iam_role.this.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "InvokeTheWorker"
        Effect   = "Allow"
        Action   = ["lambda:InvokeFunction"]
        Resource = [var.worker_function_arn, "${var.worker_function_arn}:*"]
      },
      {
        # Step Functions' vended logs: these actions take no resource (AWS's documented policy).
        Sid    = "DeliverLogs"
        Effect = "Allow"
        Action = [
          "logs:CreateLogDelivery",
          "logs:GetLogDelivery",
          "logs:UpdateLogDelivery",
          "logs:DeleteLogDelivery",
          "logs:ListLogDeliveries",
          "logs:PutResourcePolicy",
          "logs:DescribeResourcePolicies",
          "logs:DescribeLogGroups",
        ]
        Resource = ["*"]
      },
      {
        # X-Ray's trace actions take no resource either.
        Sid      = "SendTraces"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords", "xray:GetSamplingRules", "xray:GetSamplingTargets"]
        Resource = ["*"]
      },
    ]
  })
}

resource "aws_sfn_state_machine" "this" {
  name       = var.name
  role_arn   = aws_iam_role.this.arn
  definition = local.definition
  type       = "STANDARD"
  tags       = var.tags

  logging_configuration {
    log_destination        = "${aws_cloudwatch_log_group.this.arn}:*"
    include_execution_data = true # Job ids, buckets and prefixes: no secret reaches a job.
    level                  = "ERROR"
  }

  tracing_configuration {
    enabled = true
  }

  # The role must let it invoke the worker and deliver logs before the first execution.
  depends_on = [aws_iam_role_policy.this]
}

resource "aws_cloudwatch_metric_alarm" "failed" {
  for_each = {
    failed    = "ExecutionsFailed"
    timed-out = "ExecutionsTimedOut"
  }

  alarm_name          = "${var.name}-${each.key}"
  alarm_description   = "A purge job ${replace(each.key, "-", " ")}: its status (POST .../status) says what was deleted and why; its execution's history is in Step Functions."
  namespace           = "AWS/States"
  metric_name         = each.value
  dimensions          = { StateMachineArn = aws_sfn_state_machine.this.arn }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = var.tags
}
