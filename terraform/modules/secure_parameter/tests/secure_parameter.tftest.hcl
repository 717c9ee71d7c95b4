mock_provider "aws" {
  source = "../../tests/mocks"
}

variables {
  name          = "/partner-data/purge-password"
  description   = "Password the purge endpoint requires."
  value         = "correct-horse-battery-staple"
  value_version = 3
}

run "writes_a_write_only_secure_string" {
  command = apply

  assert {
    condition     = aws_ssm_parameter.this.type == "SecureString" && aws_ssm_parameter.this.tier == "Standard"
    error_message = "The parameter must be a Standard SecureString."
  }
  assert {
    # Write-only: Terraform never records it (the real apply test reads the state file too).
    condition     = aws_ssm_parameter.this.value_wo == null && aws_ssm_parameter.this.value_wo_version == 3
    error_message = "The value must travel as value_wo, versioned by value_version."
  }
  assert {
    condition     = output.name == var.name && output.value_version == 3
    error_message = "The outputs must name the parameter and the version written."
  }
}

run "encrypts_with_a_customer_managed_key" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_ssm_parameter.this.key_id == var.kms_key_arn
    error_message = "The customer managed key must encrypt the value."
  }
  assert {
    # A key change alone made the provider send an empty value, which SSM refuses: the version
    # written moves with the key, so the value is written again under it.
    condition     = aws_ssm_parameter.this.value_wo_version != 3 && aws_ssm_parameter.this.value_wo_version % 1000 == 3
    error_message = "The value must be written again when a key is added, its version kept in the last three digits."
  }
}

run "another_key_writes_the_value_again" {
  command = plan

  variables {
    kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/ffffffff-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_ssm_parameter.this.value_wo_version != run.encrypts_with_a_customer_managed_key.value_version
    error_message = "Moving the value to another key must write it again."
  }
}

run "refuses_a_version_past_999" {
  command = plan

  variables {
    value_version = 1000
  }

  expect_failures = [var.value_version]
}

run "accepts_the_longest_name_ssm_allows" {
  # A name of 1011 characters: the pattern once used {1,1010}, which RE2 cannot compile, and can()
  # turned that into "invalid name" for every name.
  command = plan

  variables {
    name = "/${join("", [for i in range(101) : "abcdefghi/"])}"
  }

  assert {
    condition     = length(aws_ssm_parameter.this.name) == 1011
    error_message = "A 1011-character path must be accepted."
  }
}

run "refuses_a_name_one_character_too_long" {
  command = plan

  variables {
    name = "/${join("", [for i in range(101) : "abcdefghi/"])}x"
  }

  expect_failures = [var.name]
}

run "refuses_a_name_without_the_leading_slash" {
  command = plan

  variables {
    name = "partner-data/purge-password"
  }

  expect_failures = [var.name]
}

run "refuses_an_empty_path_segment" {
  command = plan

  variables {
    name = "/partner-data//purge-password"
  }

  expect_failures = [var.name]
}

run "refuses_a_value_below_the_minimum_length" {
  command = plan

  variables {
    value = "too-short"
  }

  expect_failures = [var.value]
}

run "refuses_a_value_version_that_is_not_a_whole_number" {
  command = plan

  variables {
    value_version = 1.5
  }

  expect_failures = [var.value_version]
}
