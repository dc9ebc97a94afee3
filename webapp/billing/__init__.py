"""Money: the ledger, invoices, disputes, freelance jobs, direct payments and reviews."""
