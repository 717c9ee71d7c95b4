mock_provider "aws" {
  source = "../../tests/mocks"

  override_resource {
    target = aws_lambda_function.this
    values = {
      arn        = "arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge"
      invoke_arn = "arn:aws:apigateway:sa-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge/invocations"
    }
  }
  override_resource {
    target = aws_cloudwatch_log_group.this
    values = { arn = "arn:aws:logs:sa-east-1:123456789012:log-group:/aws/lambda/partner-data-purge" }
  }
}

variables {
  name     = "partner-data-purge"
  region   = "sa-east-1"
  zip_path = "tests/fixtures/handler.zip"
  policy_statements = [{
    sid       = "ReadPassword"
    actions   = ["ssm:GetParameter"]
    resources = ["arn:aws:ssm:sa-east-1:123456789012:parameter/partner-data/purge-password"]
  }]
  environment_variables = { PASSWORD_PARAMETER = "/partner-data/purge-password" }
}

run "defaults" {
  command = apply

  assert {
    condition = (
      aws_lambda_function.this.runtime == "python3.13" &&
      aws_lambda_function.this.handler == "handler.lambda_handler" &&
      aws_lambda_function.this.architectures == tolist(["arm64"]) &&
      aws_lambda_function.this.source_code_hash == filebase64sha256("tests/fixtures/handler.zip")
    )
    error_message = "The function must run handler.lambda_handler on python3.13/arm64 from the given zip."
  }
  assert {
    condition     = aws_lambda_function.this.environment[0].variables == tomap({ PASSWORD_PARAMETER = "/partner-data/purge-password" })
    error_message = "The environment must be exactly the variables given."
  }
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == -1
    error_message = "Without reserved_concurrent_executions nothing may be reserved (-1)."
  }
  assert {
    condition     = aws_lambda_function.this.logging_config[0].log_group == "/aws/lambda/partner-data-purge" && aws_lambda_function.this.logging_config[0].log_format == "Text"
    error_message = "The function must log to its own group, as text lines (the handlers write JSON themselves)."
  }
  assert {
    condition     = aws_cloudwatch_log_group.this.retention_in_days == 365
    error_message = "The log group must expire its logs."
  }
  assert {
    # IAM is global: the role of the same function in another region must not collide.
    condition     = aws_iam_role.this.name == "partner-data-purge-sa-east-1"
    error_message = "The role name must carry the region."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement == [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "123456789012" } }
    }]
    error_message = "Only Lambda, on behalf of this account, may assume the role."
  }
  assert {
    condition = jsondecode(aws_iam_role_policy.this.policy).Statement == [
      {
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["arn:aws:logs:sa-east-1:123456789012:log-group:/aws/lambda/partner-data-purge:*"]
      },
      {
        Sid      = "ReadPassword"
        Effect   = "Allow"
        Action   = ["ssm:GetParameter"]
        Resource = ["arn:aws:ssm:sa-east-1:123456789012:parameter/partner-data/purge-password"]
      },
    ]
    error_message = "The role must grant its own logs and exactly the statements given."
  }
  assert {
    condition     = length(aws_lambda_function_event_invoke_config.this) == 0 && length(aws_cloudwatch_metric_alarm.errors) == 1
    error_message = "By default: Lambda's asynchronous settings, and an errors alarm."
  }
}

run "failure_destination" {
  command = apply

  variables {
    reserved_concurrent_executions = 2
    async_invoke = {
      maximum_retry_attempts       = 1
      maximum_event_age_in_seconds = 3600
      on_failure_destination_arn   = "arn:aws:sqs:sa-east-1:123456789012:partner-data-refresh-failures"
    }
  }

  assert {
    condition = [for s in jsondecode(aws_iam_role_policy.this.policy).Statement : s if s.Sid == "SendFailedEvents"] == [
      {
        Sid      = "SendFailedEvents"
        Effect   = "Allow"
        Action   = ["sqs:SendMessage"]
        Resource = ["arn:aws:sqs:sa-east-1:123456789012:partner-data-refresh-failures"]
      },
    ]
    error_message = "Failures go to the destination only."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : contains(s.Action, "lambda:InvokeFunction")])
    error_message = "No function may invoke anything, itself included (Lambda's recursive loop detection stops self-invocation)."
  }
  assert {
    condition = (
      aws_lambda_function_event_invoke_config.this[0].maximum_retry_attempts == 1 &&
      aws_lambda_function_event_invoke_config.this[0].maximum_event_age_in_seconds == 3600 &&
      aws_lambda_function_event_invoke_config.this[0].destination_config[0].on_failure[0].destination == "arn:aws:sqs:sa-east-1:123456789012:partner-data-refresh-failures"
    )
    error_message = "The asynchronous retries, age and on-failure destination must be those given."
  }
  assert {
    condition     = aws_lambda_function.this.reserved_concurrent_executions == 2
    error_message = "The reservation given must be applied."
  }
}

run "no_wildcard_in_any_statement" {
  command = apply

  variables {
    kms_key_arn = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition = alltrue(flatten([for s in jsondecode(aws_iam_role_policy.this.policy).Statement : [
      [for action in s.Action : !strcontains(action, "*")],
      [for resource in s.Resource : !endswith(resource, ":*") || startswith(resource, "arn:aws:logs:")],
      [for resource in s.Resource : resource != "*"],
    ]]))
    error_message = "No statement may use a wildcard action or resource (the log streams of its own group aside)."
  }
  assert {
    condition     = aws_lambda_function.this.kms_key_arn == var.kms_key_arn && aws_cloudwatch_log_group.this.kms_key_id == var.kms_key_arn
    error_message = "The key must encrypt the environment and the logs."
  }
}

run "refuses_a_zip_built_for_another_architecture" {
  command = plan

  variables {
    architecture         = "arm64"
    package_architecture = "x86_64"
  }

  expect_failures = [aws_lambda_function.this]
}

run "refuses_a_missing_zip" {
  command = plan

  variables {
    zip_path = "tests/fixtures/missing.zip"
  }

  expect_failures = [var.zip_path]
}

run "refuses_a_role_name_longer_than_iam_allows" {
  command = plan

  variables {
    # 60 characters: a valid function name, but with "-sa-east-1" the role's would be 70.
    name = "a-function-name-of-sixty-characters-xxxxxxxxxxxxxxxxxxxxxxxx"
  }

  expect_failures = [aws_iam_role.this]
}
