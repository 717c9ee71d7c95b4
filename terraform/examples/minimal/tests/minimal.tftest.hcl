# The minimal example plans with a mocked provider: the module's defaults, named after the region.

mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  region            = "sa-east-1"
  partner_api_url   = "https://partner.example.com/api/InteliFunctionGetData"
  purge_password    = "correct-horse-battery-staple"
  partner_api_token = "partner-token-0123456789"
  dist_dir          = "../../tests/fixtures/dist"
}

run "plans_the_module_with_its_defaults" {
  command = plan

  assert {
    condition     = output.data_bucket_name == "partner-data-123456789012-sa-east-1"
    error_message = "The bucket is named after the default prefix, the account and the region."
  }
  assert {
    condition     = module.partner_data.refresh_function_name == "partner-data-refresh"
    error_message = "The module's outputs reach the example's partner_data output."
  }
}
