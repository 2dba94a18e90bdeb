package store

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// AzureOptions configures an Azure Blob Storage target.
type AzureOptions struct {
	AccountName, AccountKey, Container, Endpoint, Prefix string
	Timeout                                              time.Duration     // progress deadline of every request
	MaxAttempts                                          int               // attempts per request; 0 means DefaultAttempts
	Transport                                            http.RoundTripper // nil means a clone of http.DefaultTransport
}

// Azure stores objects as block blobs in one container.
type Azure struct {
	client    *azblob.Client
	container string
	prefix    string
	attempts  int
}

// NewAzure builds a shared-key client with the SDK's retry policy.
// Endpoint defaults to the public service URL of the account; set it for
// Azurite or sovereign clouds.
func NewAzure(o AzureOptions) (*Azure, error) {
	cred, err := azblob.NewSharedKeyCredential(o.AccountName, o.AccountKey)
	if err != nil {
		return nil, fmt.Errorf("azure credentials: %w", err)
	}
	endpoint := o.Endpoint
	if endpoint == "" {
		endpoint = "https://" + o.AccountName + ".blob.core.windows.net"
	}
	attempts := o.MaxAttempts
	if attempts <= 0 {
		attempts = DefaultAttempts
	}
	retries := int32(attempts - 1)
	if retries == 0 {
		retries = -1 // 0 would mean the SDK's default
	}
	c, err := azblob.NewClientWithSharedKeyCredential(endpoint+"/", cred, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Transport: newHTTPClient(o.Timeout, o.Transport),
		Retry:     policy.RetryOptions{MaxRetries: retries, RetryDelay: 500 * time.Millisecond, MaxRetryDelay: 10 * time.Second},
	}})
	if err != nil {
		return nil, fmt.Errorf("azure client: %w", err)
	}
	return &Azure{client: c, container: o.Container, prefix: o.Prefix, attempts: attempts}, nil
}

// Client exposes the SDK client (tests use it to create containers).
func (a *Azure) Client() *azblob.Client { return a.client }

// Name returns "azure".
func (a *Azure) Name() string { return "azure" }

// PutFile uploads the file as a block blob: one request up to 256 MiB,
// otherwise staged blocks whose list is committed last, so the blob
// appears only when complete.
func (a *Azure) PutFile(ctx context.Context, key, path string) (Object, error) {
	f, size, err := openFile(path)
	if err != nil {
		return Object{}, err
	}
	defer f.Close()
	resp, err := a.client.UploadFile(ctx, a.container, joinKey(a.prefix, key), f,
		&azblob.UploadFileOptions{BlockSize: 8 << 20, Concurrency: 2})
	if err != nil {
		return Object{}, classifyAzure(err)
	}
	return Object{Key: key, Size: size, Version: azureETag(resp.ETag)}, nil
}

// PutBytes uploads data in one request.
func (a *Azure) PutBytes(ctx context.Context, key string, data []byte) error {
	_, err := a.client.UploadBuffer(ctx, a.container, joinKey(a.prefix, key), data, nil)
	return classifyAzure(err)
}

// Get streams the blob through the SDK's retry reader, which resumes a
// lost connection with a ranged request for the same ETag.
func (a *Azure) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	resp, err := a.client.DownloadStream(ctx, a.container, joinKey(a.prefix, key), nil)
	if err != nil {
		return nil, classifyAzure(err)
	}
	return resp.NewRetryReader(ctx, &blob.RetryReaderOptions{MaxRetries: int32(a.attempts - 1)}), nil
}

// List pages through the blobs under prefix.
func (a *Azure) List(ctx context.Context, prefix string) ([]Object, error) {
	p := joinKey(a.prefix, prefix)
	pager := a.client.NewListBlobsFlatPager(a.container, &azblob.ListBlobsFlatOptions{Prefix: &p})
	var objs []Object
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, classifyAzure(err)
		}
		for _, b := range page.Segment.BlobItems {
			o := Object{Key: stripPrefix(a.prefix, *b.Name)}
			if pr := b.Properties; pr != nil {
				if pr.ContentLength != nil {
					o.Size = *pr.ContentLength
				}
				o.Version = azureETag(pr.ETag)
			}
			objs = append(objs, o)
		}
	}
	return objs, nil
}

// Delete removes the blob.
func (a *Azure) Delete(ctx context.Context, key string) error {
	_, err := a.client.DeleteBlob(ctx, a.container, joinKey(a.prefix, key), nil)
	return ignoreNotFound(classifyAzure(err))
}

// azureETag is the ETag without the quotes some answers carry.
func azureETag(e *azcore.ETag) string {
	if e == nil {
		return ""
	}
	return strings.Trim(string(*e), `"`)
}

func classifyAzure(err error) error {
	if err != nil && bloberror.HasCode(err, bloberror.BlobNotFound) {
		return fmt.Errorf("%w: %v", ErrNotFound, err)
	}
	return err
}
