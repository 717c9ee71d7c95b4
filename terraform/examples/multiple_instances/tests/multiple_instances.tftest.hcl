# Two instances through the aliased provider, planned with it mocked: names never collide.

mock_provider "aws" {
  alias  = "data_account"
  source = "../../tests/mocks"
}

variables {
  instances = {
    partner-a = { partner_api_url = "https://a.example.com/api/InteliFunctionGetData" }
    partner-b = { partner_api_url = "https://b.example.com/api/InteliFunctionGetData" }
  }
  purge_passwords    = { partner-a = "correct-horse-battery-a", partner-b = "correct-horse-battery-b" }
  partner_api_tokens = { partner-a = "partner-token-aaaaaaaa", partner-b = "partner-token-bbbbbbbb" }
  dist_dir           = "../../tests/fixtures/dist"
}

run "two_instances_side_by_side" {
  command = plan

  assert {
    condition = output.data_bucket_names == {
      partner-a = "partner-a-123456789012-sa-east-1"
      partner-b = "partner-b-123456789012-sa-east-1"
    }
    error_message = "Each instance has its own bucket, named after its key."
  }
}
