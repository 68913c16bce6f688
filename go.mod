module github.com/ukehi/placement

go 1.25
