package store

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// AzureOptions configures an Azure Blob Storage target.
type AzureOptions struct {
	AccountName, AccountKey, Container, Endpoint, Prefix string
	Timeout                                              time.Duration // response header timeout
}

// Azure stores objects as block blobs in one container.
type Azure struct {
	client    *azblob.Client
	container string
	prefix    string
}

// NewAzure builds a shared-key client. Endpoint defaults to the public
// service URL of the account; set it for Azurite or sovereign clouds.
func NewAzure(o AzureOptions) (*Azure, error) {
	cred, err := azblob.NewSharedKeyCredential(o.AccountName, o.AccountKey)
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		endpoint = "https://" + o.AccountName + ".blob.core.windows.net"
	}
	c, err := azblob.NewClientWithSharedKeyCredential(endpoint+"/", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: newHTTPClient(o.Timeout),
		Retry:     policy.RetryOptions{MaxRetries: -1}, // Retrying does the retries
	}})
	if err != nil {
		return nil, fmt.Errorf("azure client: %w", err)
	}
	return &Azure{client: c, container: o.Container, prefix: o.Prefix}, nil
}

// Client exposes the SDK client (tests use it to create containers).
func (a *Azure) Client() *azblob.Client { return a.client }

// Name returns "azure".
func (a *Azure) Name() string { return "azure" }

// Put stages blocks and commits the block list last, so the blob appears
// only when complete.
func (a *Azure) Put(ctx context.Context, key string, r io.ReadSeeker, size int64) error {
	_, err := a.client.UploadStream(ctx, a.container, joinKey(a.prefix, key), &exactReader{r: r, left: size},
		&azblob.UploadStreamOptions{BlockSize: 8 << 20, Concurrency: 2})
	return classifyAzure(err)
}

// Get streams the blob.
func (a *Azure) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	resp, err := a.client.DownloadStream(ctx, a.container, joinKey(a.prefix, key), nil)
	if err != nil {
		return nil, classifyAzure(err)
	}
	return resp.Body, nil
}

// List pages through the blobs under prefix.
func (a *Azure) List(ctx context.Context, prefix string) ([]string, error) {
	p := joinKey(a.prefix, prefix)
	pager := a.client.NewListBlobsFlatPager(a.container, &azblob.ListBlobsFlatOptions{Prefix: &p})
	var keys []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classifyAzure(err)
		}
		for _, b := range page.Segment.BlobItems {
			keys = append(keys, stripPrefix(a.prefix, *b.Name))
		}
	}
	return keys, nil
}

// Delete removes the blob.
func (a *Azure) Delete(ctx context.Context, key string) error {
	_, err := a.client.DeleteBlob(ctx, a.container, joinKey(a.prefix, key), nil)
	return ignoreNotFound(classifyAzure(err))
}

func classifyAzure(err error) error {
	if err == nil {
		return nil
	}
	if bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch re.StatusCode {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusNotFound, http.StatusBadRequest:
			return Permanent(err)
		}
	}
	return err
}

// exactReader yields exactly left bytes, failing (so that the block list is
// never committed) when the source ends early.
type exactReader struct {
	r    io.Reader
	left int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.left <= 0 {
		return 0, io.EOF
	}
	n, err := e.r.Read(p[:min(int64(len(p)), e.left)])
	e.left -= int64(n)
	if err == io.EOF && e.left > 0 {
		return n, Permanent(io.ErrUnexpectedEOF)
	}
	if err == io.EOF {
		err = nil
	}
	return n, err
}
