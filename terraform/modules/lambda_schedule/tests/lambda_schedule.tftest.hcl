mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                  = "partner-data-daily-refresh"
  region                = "sa-east-1"
  function_arn          = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-refresh"
  dead_letter_queue_arn = "arn:aws:sqs:sa-east-1:123456789012:partner-data-refresh-failures"
}

run "daily_at_midnight_in_sao_paulo" {
  command = apply

  assert {
    condition = (
      aws_scheduler_schedule.this.schedule_expression == "cron(0 0 * * ? *)" &&
      aws_scheduler_schedule.this.schedule_expression_timezone == "America/Sao_Paulo" &&
      aws_scheduler_schedule.this.state == "ENABLED" &&
      aws_scheduler_schedule.this.flexible_time_window[0].mode == "OFF"
    )
    error_message = "The default is daily at 00:00 São Paulo time, on the minute, enabled."
  }
  assert {
    condition = (
      aws_scheduler_schedule.this.target[0].arn == var.function_arn &&
      aws_scheduler_schedule.this.target[0].role_arn == aws_iam_role.this.arn &&
      aws_scheduler_schedule.this.target[0].input == "{}"
    )
    error_message = "The schedule must invoke the function, as its own role, with the input given."
  }
  assert {
    condition = (
      aws_scheduler_schedule.this.target[0].retry_policy[0].maximum_retry_attempts == 5 &&
      aws_scheduler_schedule.this.target[0].retry_policy[0].maximum_event_age_in_seconds == 21600 &&
      aws_scheduler_schedule.this.target[0].dead_letter_config[0].arn == var.dead_letter_queue_arn
    )
    error_message = "Undeliverable runs must be retried for up to 6 hours, then sent to the dead-letter queue."
  }
  assert {
    condition     = aws_iam_role.this.name == "partner-data-daily-refresh-sa-east-1"
    error_message = "The role name must carry the region."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "scheduler.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
    error_message = "Only EventBridge Scheduler, on behalf of this account, may assume the role."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.this.policy).Statement == [
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
    ]
    error_message = "The role may only invoke the function (and its versions) and write to the dead-letter queue."
  }
}

run "scheduled_time_input_kms_and_disabled" {
  command = apply

  variables {
    input               = "{\"scheduled_time\":\"<aws.scheduler.scheduled-time>\"}"
    schedule_expression = "cron(30 1 * * ? *)"
    schedule_timezone   = "UTC"
    enabled             = false
    kms_key_arn         = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = (
      aws_scheduler_schedule.this.state == "DISABLED" &&
      aws_scheduler_schedule.this.schedule_expression == "cron(30 1 * * ? *)" &&
      aws_scheduler_schedule.this.schedule_expression_timezone == "UTC" &&
      aws_scheduler_schedule.this.target[0].input == var.input
    )
    error_message = "Expression, zone, state and input must be those given."
  }
  assert {
    condition = (
      aws_scheduler_schedule.this.kms_key_arn == var.kms_key_arn &&
      jsondecode(aws_iam_role_policy.this.policy).Statement[2] == {
        Sid      = "EncryptWithTheKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = var.kms_key_arn
      }
    )
    error_message = "The key must encrypt the schedule, and the role may use it (for the encrypted queue) and nothing else."
  }
}

run "refuses_an_expression_that_is_neither_cron_nor_rate" {
  command = plan

  variables {
    schedule_expression = "every day at midnight"
  }

  expect_failures = [var.schedule_expression]
}

run "refuses_a_qualified_function_arn" {
  command = plan

  variables {
    function_arn = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-refresh:live"
  }

  expect_failures = [var.function_arn]
}

run "refuses_input_that_is_not_json" {
  command = plan

  variables {
    input = "{scheduled_time}"
  }

  expect_failures = [var.input]
}
