# The complete example applies on a mocked provider: every option set, and the key's policy lets
# the services that use the key on their own behalf do so.

mock_provider "aws" {
  source = "../../tests/mocks"

  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:sa-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
      key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
    }
  }
  mock_resource "aws_sns_topic" {
    defaults = {
      arn = "arn:aws:sns:sa-east-1:123456789012:partner-data-alarms"
    }
  }
}

variables {
  region                 = "sa-east-1"
  partner_api_url        = "https://partner.example.com/api/InteliFunctionGetData"
  purge_password         = "correct-horse-battery-staple"
  partner_api_token      = "partner-token-0123456789"
  data_access_log_bucket = "my-org-s3-access-logs-sa-east-1"
  dist_dir               = "../../tests/fixtures/dist"
  # The run is destroyed when the test ends.
  data_bucket_deletion_protection = false
}

run "applies_every_option" {
  command = apply

  assert {
    condition     = module.partner_data.purge_api_key_id != null
    error_message = "The endpoint requires an API key in this example."
  }
  assert {
    condition = [for statement in jsondecode(aws_kms_key.this.policy).Statement : statement.Sid] == [
      "AccountAdministersAndIamGrants", "CloudWatchLogsEncryptsLogGroups", "CloudWatchAlarmsPublishToTheTopic",
    ]
    error_message = "The key policy: the account (and so IAM), CloudWatch Logs, and CloudWatch alarms publishing to the topic."
  }
  assert {
    condition     = jsondecode(aws_kms_key.this.policy).Statement[1].Principal.Service == "logs.sa-east-1.amazonaws.com"
    error_message = "CloudWatch Logs of the stack's own region may use the key."
  }
  assert {
    condition     = aws_sns_topic.alarms.kms_master_key_id == aws_kms_key.this.arn
    error_message = "The alarm topic is encrypted with the stack's key."
  }
}
