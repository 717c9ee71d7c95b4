mock_provider "aws" {
  source = "../../tests/mocks"

  override_resource {
    target = aws_sfn_state_machine.this
    values = { arn = "arn:aws:states:sa-east-1:123456789012:stateMachine:partner-data-purge-job" }
  }
  override_resource {
    target = aws_cloudwatch_log_group.this
    values = { arn = "arn:aws:logs:sa-east-1:123456789012:log-group:/aws/vendedlogs/states/partner-data-purge-job" }
  }
}

variables {
  name                = "partner-data-purge-job"
  region              = "sa-east-1"
  worker_function_arn = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker"
}

run "a_standard_state_machine_that_invokes_the_worker_only" {
  command = apply

  assert {
    condition     = aws_sfn_state_machine.this.type == "STANDARD" && aws_sfn_state_machine.this.name == "partner-data-purge-job"
    error_message = "A job may run for hours: a Standard workflow (Express ones stop after 5 minutes)."
  }
  assert {
    condition = [
      for state in concat(values(jsondecode(output.definition).States), values(jsondecode(output.definition).States.Lanes.ItemProcessor.States)) :
      state.Parameters.FunctionName if try(state.Resource, "") == "arn:aws:states:::lambda:invoke"
    ] == [for task in range(5) : var.worker_function_arn]
    error_message = "Every Lambda task (plan, lane, sweep, and the two failure records) invokes the worker."
  }
  assert {
    condition = (
      jsondecode(output.definition).States.Lanes.MaxConcurrency == 8 &&
      jsondecode(output.definition).TimeoutSeconds == 72 * 3600 &&
      jsondecode(output.definition).States.Lanes.ResultPath == null
    )
    error_message = "Eight lanes at once by default, 72 hours at most, and the lanes' outputs dropped (256 KiB between states)."
  }
  assert {
    condition = (
      aws_sfn_state_machine.this.logging_configuration[0].log_destination == "arn:aws:logs:sa-east-1:123456789012:log-group:/aws/vendedlogs/states/partner-data-purge-job:*" &&
      aws_sfn_state_machine.this.logging_configuration[0].level == "ERROR" &&
      aws_sfn_state_machine.this.tracing_configuration[0].enabled &&
      aws_cloudwatch_log_group.this.retention_in_days == 365
    )
    error_message = "The state machine logs its errors to its own group (a log group ARN ending in :*), with a retention, and is traced."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "states.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }] && aws_iam_role.this.name == "partner-data-purge-job-sa-east-1"
    error_message = "Only Step Functions, on behalf of this account, may assume the role, named with its region."
  }
  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Action == ["lambda:InvokeFunction"]] == [{
      Sid      = "InvokeTheWorker"
      Effect   = "Allow"
      Action   = ["lambda:InvokeFunction"]
      Resource = [var.worker_function_arn, "${var.worker_function_arn}:*"]
    }]
    error_message = "The state machine may invoke the worker (and its versions), and no other function."
  }
  assert {
    condition = alltrue([for s in jsondecode(aws_iam_role_policy.this.policy).Statement :
      alltrue([for action in s.Action : can(regex("^(logs|xray):", action))]) if s.Resource == ["*"]
    ])
    error_message = "Only the log delivery and X-Ray actions, which take no resource, are granted on *."
  }
  assert {
    condition = (
      aws_dynamodb_table.jobs.name == "partner-data-purge-jobs" &&
      aws_dynamodb_table.jobs.hash_key == "pk" &&
      aws_dynamodb_table.jobs.billing_mode == "PAY_PER_REQUEST" &&
      aws_dynamodb_table.jobs.ttl[0].attribute_name == "delete_after" &&
      aws_dynamodb_table.jobs.ttl[0].enabled &&
      aws_dynamodb_table.jobs.point_in_time_recovery[0].enabled
    )
    error_message = "The job table: keyed by pk, on demand, expiring records by delete_after, recoverable."
  }
  assert {
    condition = (
      [for alarm in values(aws_cloudwatch_metric_alarm.failed) : alarm.metric_name] == ["ExecutionsFailed", "ExecutionsTimedOut"] &&
      alltrue([for alarm in values(aws_cloudwatch_metric_alarm.failed) :
        alarm.namespace == "AWS/States" &&
        alarm.dimensions == tomap({ StateMachineArn = "arn:aws:states:sa-east-1:123456789012:stateMachine:partner-data-purge-job" }) &&
        alarm.statistic == "Sum" && alarm.threshold == 1 && alarm.comparison_operator == "GreaterThanOrEqualToThreshold" &&
        alarm.treat_missing_data == "notBreaching"
      ])
    )
    error_message = "An alarm on the state machine's failed executions and one on its timed-out ones."
  }
}

run "options" {
  command = apply

  variables {
    max_concurrency    = 40
    timeout_hours      = 1
    kms_key_arn        = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    alarm_actions      = ["arn:aws:sns:sa-east-1:123456789012:alarms"]
    log_retention_days = 30
  }

  assert {
    condition = (
      jsondecode(output.definition).States.Lanes.MaxConcurrency == 40 &&
      jsondecode(output.definition).TimeoutSeconds == 3600 &&
      aws_dynamodb_table.jobs.server_side_encryption[0].enabled &&
      aws_dynamodb_table.jobs.server_side_encryption[0].kms_key_arn == var.kms_key_arn &&
      aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn &&
      aws_cloudwatch_log_group.this.retention_in_days == 30 &&
      alltrue([for alarm in values(aws_cloudwatch_metric_alarm.failed) : alarm.alarm_actions == toset(var.alarm_actions)])
    )
    error_message = "Concurrency, timeout, the key, the retention and the alarms' topics follow the variables."
  }
}

run "refuses_a_qualified_or_foreign_worker_arn" {
  command = plan

  variables {
    worker_function_arn = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge-worker:live"
  }

  expect_failures = [var.worker_function_arn]
}

run "refuses_no_lane_at_a_time" {
  command = plan

  variables {
    max_concurrency = 0
  }

  expect_failures = [var.max_concurrency]
}
