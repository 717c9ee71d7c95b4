# Realistic values for what AWS computes, so the provider's own ARN checks pass during apply runs.
# A test overrides a resource (override_resource) where one value per resource type is not enough.

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
    arn        = "arn:aws:iam::123456789012:user/terraform"
    user_id    = "AIDATERRAFORMTEST"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition          = "aws"
    dns_suffix         = "amazonaws.com"
    reverse_dns_prefix = "com.amazonaws"
  }
}

mock_resource "aws_iam_role" {
  defaults = {
    arn       = "arn:aws:iam::123456789012:role/mock-role"
    unique_id = "AROAMOCKROLE000000000"
  }
}

mock_resource "aws_lambda_function" {
  defaults = {
    arn           = "arn:aws:lambda:us-east-1:123456789012:function:mock-function"
    qualified_arn = "arn:aws:lambda:us-east-1:123456789012:function:mock-function:$LATEST"
    invoke_arn    = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:mock-function/invocations"
    version       = "$LATEST"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock-log-group"
  }
}

mock_resource "aws_cloudwatch_metric_alarm" {
  defaults = {
    arn = "arn:aws:cloudwatch:us-east-1:123456789012:alarm:mock-alarm"
  }
}

mock_resource "aws_ssm_parameter" {
  defaults = {
    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/mock/parameter"
  }
}

mock_resource "aws_sqs_queue" {
  defaults = {
    arn = "arn:aws:sqs:us-east-1:123456789012:mock-queue"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/mock-queue"
  }
}

mock_resource "aws_s3_bucket" {
  defaults = {
    arn = "arn:aws:s3:::mock-bucket"
  }
}

mock_resource "aws_scheduler_schedule" {
  defaults = {
    arn = "arn:aws:scheduler:us-east-1:123456789012:schedule/default/mock-schedule"
  }
}

mock_resource "aws_api_gateway_rest_api" {
  defaults = {
    id               = "a1b2c3d4e5"
    root_resource_id = "r00t1d2e3f"
    arn              = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5"
    execution_arn    = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5"
  }
}

mock_resource "aws_api_gateway_stage" {
  defaults = {
    arn           = "arn:aws:apigateway:us-east-1::/restapis/a1b2c3d4e5/stages/v1"
    execution_arn = "arn:aws:execute-api:us-east-1:123456789012:a1b2c3d4e5/v1"
    invoke_url    = "https://a1b2c3d4e5.execute-api.us-east-1.amazonaws.com/v1"
  }
}

mock_resource "aws_api_gateway_usage_plan" {
  defaults = {
    arn = "arn:aws:apigateway:us-east-1::/usageplans/mockplan"
  }
}

mock_resource "aws_api_gateway_api_key" {
  defaults = {
    arn = "arn:aws:apigateway:us-east-1::/apikeys/mockkey"
  }
}

mock_resource "aws_dynamodb_table" {
  defaults = {
    arn = "arn:aws:dynamodb:us-east-1:123456789012:table/mock-table"
  }
}

mock_resource "aws_sfn_state_machine" {
  defaults = {
    arn = "arn:aws:states:us-east-1:123456789012:stateMachine:mock-state-machine"
  }
}
