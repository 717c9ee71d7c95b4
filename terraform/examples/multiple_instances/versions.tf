terraform {
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.100, < 7.0"
    }
  }

  # Keep the state where your team shares it: uncomment, fill in, and `terraform init` offers to
  # copy any local state there. A versioned, encrypted bucket; the lock file needs Terraform 1.10+.
  # backend "s3" {
  #   bucket       = "my-org-terraform-state"
  #   key          = "partner-data-instances/terraform.tfstate"
  #   region       = "sa-east-1"
  #   encrypt      = true
  #   use_lockfile = true
  # }
}
