mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name                = "partner-data-purge"
  function_name       = "partner-data-purge"
  function_invoke_arn = "arn:aws:apigateway:sa-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:sa-east-1:123456789012:function:partner-data-purge/invocations"
}

run "post_to_the_function_through_a_throttled_logged_stage" {
  command = apply

  assert {
    condition = (
      aws_api_gateway_resource.purge.path_part == "purge" &&
      aws_api_gateway_resource.status.path_part == "status" &&
      aws_api_gateway_resource.status.parent_id == aws_api_gateway_resource.purge.id &&
      keys(aws_api_gateway_method.post) == ["purge", "status"] &&
      alltrue([for method in values(aws_api_gateway_method.post) :
        method.http_method == "POST" && method.authorization == "NONE" && method.api_key_required == false
      ])
    )
    error_message = "The endpoint is POST /purge and POST /purge/status, authenticated by the function's password check."
  }
  assert {
    condition = alltrue([for integration in values(aws_api_gateway_integration.lambda) :
      integration.type == "AWS_PROXY" &&
      integration.integration_http_method == "POST" &&
      integration.uri == var.function_invoke_arn &&
      integration.timeout_milliseconds == 29000
    ]) && length(aws_api_gateway_integration.lambda) == 2
    error_message = "Both methods must proxy to the function (AWS_PROXY), within API Gateway's 29 s."
  }
  assert {
    condition = (
      aws_api_gateway_method_settings.all.method_path == "*/*" &&
      aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == 1 &&
      aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == 5 &&
      aws_api_gateway_method_settings.all.settings[0].metrics_enabled &&
      aws_api_gateway_method_settings.all.settings[0].logging_level == "ERROR" &&
      !aws_api_gateway_method_settings.all.settings[0].data_trace_enabled &&
      !aws_api_gateway_method_settings.all.settings[0].caching_enabled
    )
    error_message = "The stage must be throttled (1/s, burst 5), with metrics, ERROR logs, and no data trace (it would log the password)."
  }
  assert {
    condition = (
      aws_api_gateway_stage.this.access_log_settings[0].destination_arn == aws_cloudwatch_log_group.access.arn &&
      toset(keys(jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format))) == toset([
        "requestId", "extendedId", "sourceIp", "userAgent", "requestTime", "httpMethod", "resourcePath",
        "status", "responseLength", "latencyMs", "integrationError", "apiKeyId", "wafResponse",
      ]) &&
      alltrue([for value in values(jsondecode(aws_api_gateway_stage.this.access_log_settings[0].format)) :
        startswith(value, "$context.") && !can(regex("(?i)body|header|input|requestOverride", value))
      ])
    )
    error_message = "Access logs must be JSON of context fields only: never the body or headers (the password)."
  }
  assert {
    condition = (
      aws_cloudwatch_log_group.execution.name == "API-Gateway-Execution-Logs_a1b2c3d4e5/v1" &&
      aws_cloudwatch_log_group.execution.retention_in_days == 365 &&
      aws_cloudwatch_log_group.access.retention_in_days == 365
    )
    error_message = "The execution log group API Gateway writes to must be managed here, with a retention."
  }
  assert {
    condition = (
      alltrue([for permission in values(aws_lambda_permission.api) :
        permission.principal == "apigateway.amazonaws.com" && permission.function_name == "partner-data-purge"
      ]) &&
      [for permission in values(aws_lambda_permission.api) : permission.source_arn] == [
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/POST/purge",
        "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1/POST/purge/status",
      ]
    )
    error_message = "API Gateway may invoke the function for POST /purge and POST /purge/status on this stage only."
  }
  assert {
    condition = jsondecode(aws_api_gateway_rest_api_policy.this.policy).Statement == [{
      Sid       = "AllowInvoke"
      Effect    = "Allow"
      Principal = "*"
      Action    = "execute-api:Invoke"
      Resource  = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*"
    }]
    error_message = "Without an allowlist the resource policy allows every source (it exists, so removing an allowlist is a change made before the deployment)."
  }
  assert {
    condition     = length(aws_api_gateway_usage_plan.this) == 0
    error_message = "No usage plan by default."
  }
  assert {
    condition = (
      output.endpoint_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/purge" &&
      output.status_url == "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1/purge/status"
    )
    error_message = "The endpoint URLs must be the stage's URL and the paths."
  }
}

# Whether a changed definition replaces the deployment is the provider's decision, which a mocked
# provider does not make: tests/test_terraform_apply.py checks it against a real apply.

run "requiring_an_api_key" {
  command = apply

  variables {
    require_api_key = true
  }

  assert {
    condition = (
      alltrue([for method in values(aws_api_gateway_method.post) : method.api_key_required]) &&
      one(aws_api_gateway_usage_plan.this[0].api_stages).stage == "v1" &&
      aws_api_gateway_usage_plan.this[0].quota_settings[0].limit == 100 &&
      aws_api_gateway_usage_plan.this[0].quota_settings[0].period == "DAY" &&
      aws_api_gateway_usage_plan_key.this[0].key_id == aws_api_gateway_api_key.this[0].id &&
      output.api_key_id == aws_api_gateway_api_key.this[0].id
    )
    error_message = "An API key must be required, in a usage plan with a daily quota on this stage."
  }
}

run "a_source_ip_allowlist" {
  command = apply

  variables {
    allowed_source_cidrs = ["203.0.113.0/24"]
  }

  assert {
    condition = jsondecode(aws_api_gateway_rest_api_policy.this.policy).Statement == [
      {
        Sid       = "AllowInvoke"
        Effect    = "Allow"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource  = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*"
      },
      {
        Sid       = "DenyOtherSources"
        Effect    = "Deny"
        Principal = "*"
        Action    = "execute-api:Invoke"
        Resource  = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/*"
        Condition = { NotIpAddress = { "aws:SourceIp" = ["203.0.113.0/24"] } }
      },
    ]
    error_message = "Calls from outside the allowlist must be denied."
  }
}

run "kms_and_limits" {
  command = apply

  variables {
    kms_key_arn            = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    throttling_rate_limit  = 10
    throttling_burst_limit = 20
    log_retention_days     = 30
    stage_name             = "prod"
    path_part              = "purge-bucket"
  }

  assert {
    condition = (
      aws_cloudwatch_log_group.access.kms_key_id == var.kms_key_arn &&
      aws_cloudwatch_log_group.execution.kms_key_id == var.kms_key_arn &&
      aws_cloudwatch_log_group.execution.retention_in_days == 30 &&
      aws_cloudwatch_log_group.execution.name == "API-Gateway-Execution-Logs_a1b2c3d4e5/prod"
    )
    error_message = "Both log groups must be encrypted with the key and keep logs as long as asked."
  }
  assert {
    condition = (
      aws_api_gateway_method_settings.all.settings[0].throttling_rate_limit == 10 &&
      aws_api_gateway_method_settings.all.settings[0].throttling_burst_limit == 20 &&
      aws_lambda_permission.api["purge"].source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/purge-bucket" &&
      aws_lambda_permission.api["status"].source_arn == "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/prod/POST/purge-bucket/status"
    )
    error_message = "Throttling and the permission's stage and path must follow the variables."
  }
}

run "refuses_an_invalid_cidr" {
  command = plan

  variables {
    allowed_source_cidrs = ["203.0.113.0/33"]
  }

  expect_failures = [var.allowed_source_cidrs]
}

run "refuses_a_path_with_a_slash" {
  command = plan

  variables {
    path_part = "admin/purge"
  }

  expect_failures = [var.path_part]
}
